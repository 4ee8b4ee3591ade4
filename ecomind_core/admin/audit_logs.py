"""The audit trail: read-only for everyone, newest first, with readable details."""

import json

from django.contrib import admin
from django.utils.html import format_html

from ecomind_core.models import AuditLog, CustomerUser, Organisation

from .filters import PeriodFilter, recent_values_filter
from .keyset import KeysetPagingMixin
from .read_only import ReadOnlyAdminMixin
from .search import ExactIdSearchMixin
from .sign_ins import SignInFilter


@admin.register(AuditLog)
class AuditLogAdmin(ExactIdSearchMixin, KeysetPagingMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ts", "org_id", "user_id", "action", "resource")
    list_filter = (recent_values_filter("action", "action"), recent_values_filter("resource", "resource"), PeriodFilter, SignInFilter)
    # Plain equality on the id columns, each an index lookup (search.py);
    # Django's "=" prefix would compare UPPER(column) and read the table.
    id_search_fields = {"id": AuditLog, "org_id": Organisation, "user_id": CustomerUser}
    search_help_text = "An exact audit id, organisation id or user id, as stored (case matters)."
    ordering = ("-ts", "-id")
    fields = ("id", "ts", "org_id", "user_id", "action", "resource", "details_pretty")
    readonly_fields = fields

    @admin.display(description="details")
    def details_pretty(self, obj):
        return format_html(
            '<pre class="audit-details" style="white-space: pre-wrap; margin: 0">{}</pre>',
            json.dumps(obj.details, indent=2, sort_keys=True, ensure_ascii=False),
        )
