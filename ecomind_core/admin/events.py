"""Events: read-only, newest first; the table holds hundreds of millions of rows."""

from django.contrib import admin

from ecomind_core.models import Event

from .filters import PeriodFilter, recent_values_filter
from .read_only import ReadOnlyAdminMixin


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ts", "org_id", "user_id", "provider", "model", "kwh", "water_l", "co2_kg")
    list_filter = (recent_values_filter("provider", "provider"), PeriodFilter)
    search_fields = ("=org_id", "=user_id", "=id")
    search_help_text = "An exact organisation id, user id or event id."
    ordering = ("-ts",)
