"""Events: read-only, newest first; the table holds hundreds of millions of rows.

The list fits a 1280-pixel screen beside the admin's two side bars: who
(organisation over user) and what (provider over model) share a cell each,
and the footprint columns show three significant digits under a header
naming the unit (``FOOTPRINT``).
"""

import math

from django.contrib import admin
from django.utils.html import format_html

from ecomind_core.models import FOOTPRINT, CustomerUser, Event, Organisation

from .filters import PeriodFilter, recent_values_filter
from .keyset import KeysetPagingMixin
from .read_only import ReadOnlyAdminMixin
from .search import ExactIdSearchMixin


def significant(value, digits=3):
    """``value`` with ``digits`` significant digits, never in exponent form: 0.000875, 12.3, 1,234."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def footprint_column(column):
    """A list column for one footprint measure: its title over its unit, then the value."""
    title, unit = FOOTPRINT[column]

    @admin.display(description=format_html("{}<br>{}", title, unit))
    def show(self, obj):
        return significant(getattr(obj, column))

    return show


@admin.register(Event)
class EventAdmin(ExactIdSearchMixin, KeysetPagingMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("time", "who", "what", "energy", "water", "co2")
    list_filter = (recent_values_filter("provider", "provider"), PeriodFilter)
    id_search_fields = {"id": Event, "org_id": Organisation, "user_id": CustomerUser}
    search_help_text = "An exact event id, organisation id or user id, as stored (case matters)."
    ordering = ("-ts",)
    change_list_template = "admin/ecomind_core/event/change_list.html"

    @admin.display(description="time (UTC)")
    def time(self, obj):
        return f"{obj.ts:%Y-%m-%d %H:%M:%S}"

    @admin.display(description=format_html("{}<br>{}", "organisation", "user"))
    def who(self, obj):
        return format_html('{}<br><span class="quiet">{}</span>', obj.org_id, obj.user_id)

    @admin.display(description=format_html("{}<br>{}", "provider", "model"))
    def what(self, obj):
        return format_html('{}<br><span class="quiet">{}</span>', obj.provider, obj.model or "-")

    energy = footprint_column("kwh")
    water = footprint_column("water_l")
    co2 = footprint_column("co2_kg")
