"""Replace the daily tables with sums over events, by the rules (any backend).

Used by the demo data and by tests, which start from nothing; on a live
database use ``repair_rollups``, which changes only divergent rows, a day at
a time, beside the worker.
"""

from django.db.models import Count, Sum

from ecomind_core import models

from .rules import COUNT, DAILY_KEYS, EVENT_DAY, SUMS, event_key_expression

#: Annotation names cannot be those of Event's fields (``model``), so the key
#: values are computed under these and stored under their own.
_AS = "rollup_"


def rebuild_daily_totals(events=None, using="default"):
    """Replace the four daily tables of ``using`` with sums over ``events`` (default: all)."""
    events = models.Event.objects.using(using) if events is None else events
    for model, keys in DAILY_KEYS.items():
        model.objects.using(using).delete()
        groups = (
            events.values(**{f"{_AS}date": EVENT_DAY}, **{f"{_AS}{k}": event_key_expression(k) for k in keys})
            .annotate(**{f"{_AS}{COUNT}": Count("id")}, **{f"{_AS}{s}": Sum(s) for s in SUMS})
            .order_by()
        )
        model.objects.using(using).bulk_create(
            (model(**{name.removeprefix(_AS): value for name, value in group.items()}) for group in groups),
            batch_size=1000,
        )
