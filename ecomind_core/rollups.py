"""Daily roll-ups computed from events, the way the enrichment worker keeps them.

Used by the demo data and by tests; the worker itself upserts row by row
(see docs/schema.md).
"""

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from ecomind_core import models

#: Daily model -> the event columns that make its key (after date and org).
DAILY_KEYS = {
    models.DailyOrgTotal: ("org_id",),
    models.DailyUserTotal: ("org_id", "user_id"),
    models.DailyProviderTotal: ("org_id", "provider"),
    models.DailyModelTotal: ("org_id", "provider", "model"),
}


def rebuild_daily_totals(events=None):
    """Replace the four daily tables with sums over ``events`` (default: all)."""
    events = models.Event.objects.all() if events is None else events
    for model, keys in DAILY_KEYS.items():
        model.objects.all().delete()
        groups = (
            events.annotate(date=TruncDate("ts"))
            .values("date", *keys)
            .annotate(call_count=Count("id"), kwh=Sum("kwh"), water_l=Sum("water_l"), co2_kg=Sum("co2_kg"))
            .order_by()
        )
        model.objects.bulk_create(model(**group) for group in groups if all(group[k] is not None for k in keys))
