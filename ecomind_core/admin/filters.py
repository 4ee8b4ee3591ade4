"""Changelist filters whose cost does not grow with the table.

Django's default choices filter runs ``SELECT DISTINCT column`` over the whole
table on every page view. These offer the values seen among the newest rows
(an index scan on the timestamp), and a date filter that is a range on an
indexed timestamp.
"""

import datetime

from django.contrib import admin
from django.utils import timezone

#: How many of the newest rows the value choices are taken from.
RECENT_ROWS = 1_000


def recent_values_filter(field, title, timestamp="ts"):
    """A list filter on ``field`` offering the values of the newest rows."""

    class RecentValuesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            recent = model_admin.model.objects.order_by(f"-{timestamp}").values_list(field, flat=True)[:RECENT_ROWS]
            values = sorted({v for v in recent if v is not None})
            selected = self.value()
            if selected and selected not in values:
                values.append(selected)  # keep a value typed into the URL selectable
            return [(v, v) for v in values]

        def queryset(self, request, queryset):
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    RecentValuesFilter.title = title
    RecentValuesFilter.__name__ = f"Recent{field.title()}Filter"
    return RecentValuesFilter


class PeriodFilter(admin.SimpleListFilter):
    """Rows of the last day, week, month or year (a range on the indexed ``ts``)."""

    title = "date"
    parameter_name = "period"
    PERIODS = {"1d": ("Last 24 hours", 1), "7d": ("Last 7 days", 7), "30d": ("Last 30 days", 30), "365d": ("Last year", 365)}

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.PERIODS.items()]

    def queryset(self, request, queryset):
        period = self.PERIODS.get(self.value())
        if not period:
            return queryset
        return queryset.filter(ts__gte=timezone.now() - datetime.timedelta(days=period[1]))


def action_group_filter(title, parameter, label, actions):
    """A list filter showing only rows whose ``action`` is one of ``actions`` (an index lookup on (action, ts) each)."""

    class ActionGroupFilter(admin.SimpleListFilter):
        parameter_name = parameter

        def lookups(self, request, model_admin):
            return [("yes", label)]

        def queryset(self, request, queryset):
            return queryset.filter(action__in=actions) if self.value() == "yes" else queryset

    ActionGroupFilter.title = title
    return ActionGroupFilter
