"""Recorded ``verify_schema`` verdicts: one audit row per ``verify_schema --record`` run.

Like ``verify_rollups --record`` (ecomind_core/rollups/status.py), the verdict
is an append-only audit row (``action = "schema.verify"``, ``org_id =
"system"``, ``resource = "schema"``), so it needs no table of its own, no
migration, and it is as tamper-proof as the rest of the trail. ``details``
holds the counts the metrics read with one index lookup (``errors``,
``warnings``) and the findings the Schema health page shows, errors first,
at most :data:`MAX_FINDINGS` of them (a database shared with a thousand
unrelated tables would otherwise write a thousand warnings every hour).

Pruning: old verdicts go with the rest of the audit trail, through
``purge_audit_logs --before`` (the only delete the append-only trigger lets
through). Readers never depend on how many there are: the newest verdict and
the page's history are ranges of the ``(action, ts)`` index
(docs/deployment/monitoring.md, "Recorded verdicts").
"""

import datetime
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from ecomind_core.audit.records import SYSTEM_ORG, record
from ecomind_core.catalog.findings import ERROR
from ecomind_core.models import AuditLog

VERIFY = "schema.verify"
RESOURCE = "schema"
MATCH, DRIFT = "match", "drift"
#: Findings kept in one verdict row; the counts always cover all of them.
MAX_FINDINGS = 100
FINDING_FIELDS = ("kind", "object", "expected", "actual", "severity", "hint", "table")


def _jsonable(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    return str(value)


def record_schema_verdict(findings, *, strict=False, using=DEFAULT_DB_ALIAS):
    """One audit row for a finished ``verify_schema`` run's findings."""
    errors = sum(1 for f in findings if f.severity == ERROR)
    warnings = len(findings) - errors
    kept = sorted(findings, key=lambda f: f.severity != ERROR)[:MAX_FINDINGS]
    drift = bool(errors or (strict and warnings))
    return record(
        org_id=SYSTEM_ORG, action=VERIFY, resource=RESOURCE, using=using,
        details={
            "verdict": DRIFT if drift else MATCH,
            "errors": errors,
            "warnings": warnings,
            "strict": strict,
            "findings": [{name: _jsonable(getattr(f, name)) for name in FINDING_FIELDS} for f in kept],
            "findings_omitted": len(findings) - len(kept),
        },
    )


@dataclass(frozen=True)
class SchemaVerdict:
    """One recorded verdict, as the Schema health page shows it."""

    checked_at: datetime.datetime
    verdict: str
    errors: int
    warnings: int
    findings: tuple
    findings_omitted: int = 0

    @property
    def drift(self):
        return self.verdict == DRIFT

    @classmethod
    def from_row(cls, row):
        details = row.details if isinstance(row.details, dict) else {}
        return cls(
            checked_at=row.ts, verdict=details.get("verdict", DRIFT), errors=int(details.get("errors") or 0),
            warnings=int(details.get("warnings") or 0), findings=tuple(details.get("findings") or ()),
            findings_omitted=int(details.get("findings_omitted") or 0),
        )


def _recorded(using):
    return AuditLog.objects.using(using).filter(action=VERIFY, ts__isnull=False)


def latest_schema_verdict(using=DEFAULT_DB_ALIAS):
    """The newest recorded verdict, or None (an index lookup on ``(action, ts)``)."""
    row = _recorded(using).order_by("-ts").only("details", "ts").first()
    return SchemaVerdict.from_row(row) if row else None


def schema_verdict_history(days, using=DEFAULT_DB_ALIAS, now=None):
    """``[(ts, verdict, errors, warnings), ...]`` of the last ``days`` days, oldest first.

    Reads only the counts out of each row, never the findings, through the
    ``(action, ts)`` index: a month of hourly verdicts is 720 small rows
    whatever the size of the audit log or of a drift.
    """
    since = (now or timezone.now()) - datetime.timedelta(days=days)
    connection = connections[using]
    table = connection.ops.quote_name(AuditLog._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ts, details->>'verdict', details->>'errors', details->>'warnings' FROM {table} "
            "WHERE action = %s AND ts >= %s ORDER BY ts",
            [VERIFY, since.astimezone(datetime.UTC).replace(tzinfo=None)],
        )
        rows = cursor.fetchall()
    return [(as_utc(ts), verdict or DRIFT, int(errors or 0), int(warnings or 0)) for ts, verdict, errors, warnings in rows]


def as_utc(ts):
    """A ``timestamp`` column read by a raw cursor (naive UTC) as an aware datetime."""
    if isinstance(ts, str):  # SQLite hands a raw cursor the text it stores
        ts = datetime.datetime.fromisoformat(ts)
    return ts.replace(tzinfo=datetime.UTC) if ts is not None and ts.tzinfo is None else ts
