"""The audit trail: read-only for everyone, newest first, with readable details."""

import json

from django.contrib import admin
from django.utils.html import format_html

from ecomind_core.audit import schema_changes
from ecomind_core.models import AuditLog, CustomerUser, Organisation
from ecomind_core.signin import audit as signin_audit

from .filters import PeriodFilter, action_group_filter, recent_values_filter
from .keyset import KeysetPagingMixin
from .read_only import ReadOnlyAdminMixin
from .search import ExactIdSearchMixin


@admin.register(AuditLog)
class AuditLogAdmin(ExactIdSearchMixin, KeysetPagingMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ts", "org_id", "user_id", "action", "resource")
    list_filter = (
        recent_values_filter("action", "action"), recent_values_filter("resource", "resource"), PeriodFilter,
        action_group_filter("sign-ins", "sign_ins", "Sign-ins, failures and lockouts", signin_audit.ACTIONS),
        action_group_filter("schema changes", "schema_changes", "Migrations, rollbacks and baselines", schema_changes.ACTIONS),
    )
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
