"""The audit trail: read-only for everyone, newest first, with readable details."""

import json

from django.contrib import admin
from django.utils.html import format_html

from ecomind_core.models import AuditLog

from .filters import PeriodFilter, recent_values_filter
from .read_only import ReadOnlyAdminMixin
from .sign_ins import SignInFilter


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ts", "org_id", "user_id", "action", "resource")
    list_filter = (recent_values_filter("action", "action"), recent_values_filter("resource", "resource"), PeriodFilter, SignInFilter)
    # Exact matches only: each is an index lookup (org_id, user_id, id),
    # where Django's default icontains would scan the table.
    search_fields = ("=org_id", "=user_id", "=id")
    search_help_text = "An exact organisation id, user id or audit id."
    ordering = ("-ts", "-id")
    fields = ("id", "ts", "org_id", "user_id", "action", "resource", "details_pretty")
    readonly_fields = fields

    @admin.display(description="details")
    def details_pretty(self, obj):
        return format_html(
            '<pre class="audit-details" style="white-space: pre-wrap; margin: 0">{}</pre>',
            json.dumps(obj.details, indent=2, sort_keys=True, ensure_ascii=False),
        )
