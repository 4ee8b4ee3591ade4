"""The daily roll-ups: what they are, how to prove them, how to mend them.

The enrichment worker keeps the four daily tables in step with
``events_enriched`` one event at a time (docs/schema.md); events that arrive
by other paths break that. This package says what a roll-up is and checks
and repairs it (docs/rollups.md):

* ``rules``: the one definition (the UTC day, the keys, ``'unknown'``, the sums, the tolerance);
* ``rebuild``: replace the tables with sums over events (demo data, tests);
* ``comparison``: the divergent rows of a day, found in one set-based statement;
* ``verification``: check a period day by day (``verify_rollups``);
* ``repair``: make a day equal to its events beside the worker (``repair_rollups``);
* ``status``: record a verification, and read it back for the admin's Daily footprint page.
"""

from .rebuild import rebuild_daily_totals
from .rules import DAILY_KEYS, DAILY_MODELS

__all__ = ["DAILY_KEYS", "DAILY_MODELS", "rebuild_daily_totals"]
