"""Events: read-only, newest first; the table holds hundreds of millions of rows."""

from django.contrib import admin

from ecomind_core.models import CustomerUser, Event, Organisation

from .filters import PeriodFilter, recent_values_filter
from .keyset import KeysetPagingMixin
from .read_only import ReadOnlyAdminMixin
from .search import ExactIdSearchMixin


@admin.register(Event)
class EventAdmin(ExactIdSearchMixin, KeysetPagingMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ts", "org_id", "user_id", "provider", "model", "kwh", "water_l", "co2_kg")
    list_filter = (recent_values_filter("provider", "provider"), PeriodFilter)
    id_search_fields = {"id": Event, "org_id": Organisation, "user_id": CustomerUser}
    search_help_text = "An exact event id, organisation id or user id, as stored (case matters)."
    ordering = ("-ts",)
