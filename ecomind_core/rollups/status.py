"""Where verifications and repairs are recorded, and what a page may say about a period.

``verify_rollups --record`` (the nightly job) appends one audit row per run;
``repair_rollups`` appends one per run. Both have ``org_id = SYSTEM_ORG`` and
resource ``rollups``. The Daily footprint page shows, for the period on
screen, the verdict of the newest recorded verification that covers all of
it: nothing is checked while staff wait, and the answer says when it was true.
"""

import datetime
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS

from ecomind_core.audit.records import SYSTEM_ORG, record
from ecomind_core.models import AuditLog

from .verification import CLEAN, DIVERGENT

VERIFY, REPAIR = "rollups.verify", "rollups.repair"
RESOURCE = "rollups"
#: The page looks at this many newest verifications at most (an index range
#: on (action, ts)), so its cost does not grow with the audit log.
RECENT_VERIFICATIONS = 200

NOT_VERIFIED = "not verified"


def record_verification(result, using=DEFAULT_DB_ALIAS):
    """One audit row for a finished ``verification.Verification``."""
    return record(
        org_id=SYSTEM_ORG, action=VERIFY, resource=RESOURCE, using=using,
        details={
            "since": result.since.isoformat() if result.since else None,
            "until": result.covered_until().isoformat(),
            "verdict": result.verdict,
            "days_checked": len(result.days),
            "divergent_rows": len(result.divergent),
            "divergent_rows_by_table": result.rows_by_table(),
            "divergent_days": [day.isoformat() for day in result.divergent_days],
        },
    )


def record_repair(details, using=DEFAULT_DB_ALIAS):
    return record(org_id=SYSTEM_ORG, action=REPAIR, resource=RESOURCE, using=using, details=details)


@dataclass(frozen=True)
class PeriodVerification:
    """What is known about the roll-ups of ``start`` .. ``end``."""

    start: datetime.date
    end: datetime.date
    state: str
    #: When the verification that says so ran (None: not verified).
    checked_at: datetime.datetime | None = None
    #: The days of the period it found divergent (any organisation).
    divergent_days: tuple = ()

    @property
    def clean(self):
        return self.state == CLEAN

    @property
    def divergent(self):
        return self.state == DIVERGENT


def _covers(details, start, end):
    since, until = details.get("since"), details.get("until")
    return (since is None or since <= start.isoformat()) and until is not None and until >= end.isoformat()


def period_verification(start, end, using=DEFAULT_DB_ALIAS):
    """The newest recorded verdict on every day of ``start`` .. ``end``, for the Daily footprint page."""
    recent = AuditLog.objects.using(using).filter(action=VERIFY).order_by("-ts")[:RECENT_VERIFICATIONS]
    for row in recent.only("details", "ts"):
        details = row.details if isinstance(row.details, dict) else {}
        if _covers(details, start, end):
            days = tuple(d for d in details.get("divergent_days", []) if start.isoformat() <= d <= end.isoformat())
            return PeriodVerification(start, end, DIVERGENT if days else CLEAN, row.ts, days)
    return PeriodVerification(start, end, NOT_VERIFIED)
