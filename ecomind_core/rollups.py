"""Daily roll-ups computed from events, the way the enrichment worker keeps them.

Used by the demo data and by tests; the worker itself upserts row by row
(see docs/schema.md).
"""

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from ecomind_core import models

#: The four daily models, each with the event columns that key it after the day.
DAILY_MODELS = tuple(models.DailyTotals.__subclasses__())
DAILY_KEYS = {model: model.key_columns() for model in DAILY_MODELS}


def rebuild_daily_totals(events=None, using="default"):
    """Replace the four daily tables of ``using`` with sums over ``events`` (default: all)."""
    events = models.Event.objects.using(using) if events is None else events
    for model, keys in DAILY_KEYS.items():
        model.objects.using(using).delete()
        groups = (
            events.annotate(date=TruncDate("ts"))
            .values("date", *keys)
            .annotate(call_count=Count("id"), **{measure: Sum(measure) for measure in models.FOOTPRINT})
            .order_by()
        )
        model.objects.using(using).bulk_create(model(**group) for group in groups if all(group[k] is not None for k in keys))
