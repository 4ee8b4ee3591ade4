"""What the admin's Schema health page shows, read the cheap way.

* the newest recorded ``verify_schema`` verdict and its findings in plain
  words (verdicts.py);
* the applied migrations with when and who: when from ``django_migrations``,
  who from the audit rows of the runs that changed the schema
  (ecomind_core/audit/schema_changes.py: ``migrate`` writes one per
  migration with its ``actor``; ``baseline`` one per run listing
  ``migrations_recorded``), else "not recorded";
* the migrations on disk not applied yet, by release stage;
* the verdict history of the last :data:`HISTORY_DAYS` days, a day per slot.

Every read is bounded: the newest :data:`APPLIED_SHOWN` migrations, the
newest :data:`SCHEMA_CHANGES_READ` schema-change audit rows through the
``(action, ts)`` index, and the history's counts (not its findings).
"""

import datetime
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from ecomind_core.admin.charts import daily_bar_chart
from ecomind_core.audit.records import BASELINE
from ecomind_core.audit.schema_changes import MIGRATE
from ecomind_core.catalog.findings import ERROR
from ecomind_core.db.tables import table_exists
from ecomind_core.models import AuditLog

from .collector import pending_by_stage
from .verdicts import DRIFT, latest_schema_verdict, schema_verdict_history

HISTORY_DAYS = 30
APPLIED_SHOWN = 50
SCHEMA_CHANGES_READ = 200
#: Audit actions of runs that put a migration in place: migrate applying it, baseline recording it.
SCHEMA_CHANGE_ACTIONS = (MIGRATE, BASELINE)

#: How each kind's state reads in a sentence: "<Object kind> <object> <state>."
STATES = {
    "missing": "is missing", "unexpected": "exists, but no model or migration describes it",
    "changed": "differs from what the migrations define", "unowned": "is not described by any model (left untouched)",
    "type": "has another type", "nullability": "has another nullability", "default": "has another default",
    "collation": "has another collation", "labels": "has other labels", "owner": "has another owner",
    "allowed_values": "allows other values", "generated": "is a generated column", "identity": "differs in identity",
    "persistence": "is not a logged table", "partitioning": "is partitioned", "inheritance": "inherits or is inherited",
    "row_security": "has row-level security on", "shadowed": "is shadowed by a table of the same name",
    "unapplied": "is not applied", "post_deploy_pending": "waits for the post-deploy step",
    "unknown": "is applied but not in this code", "state_unreadable": "state cannot be read", "unmigrated": "have changes no migration holds",
    "replication_role": "switches triggers and foreign keys off",
    "kind": "is another kind of table", "access_method": "uses another access method",
    "blocks_writes": "makes PostgreSQL refuse UPDATE and DELETE",
    "harmful": "changes every transaction", "risky": "can cancel statements or lose the last commits",
    "unreviewed": "has not been reviewed by this release", "unrecorded": "exists before the migration that creates it",
}
NOUNS = {"primary_key": "Primary key", "foreign_key": "Foreign key", "models": "The models", "setting": "A setting",
         "publication": "Publication", "catalog_column": "Catalog column"}


def plain_words(finding):
    """``{"severity", "sentence", "expected", "actual", "fix"}`` for one recorded finding."""
    kind = finding.get("kind", "")
    noun_key, state_key = _split_kind(kind)
    noun = NOUNS.get(noun_key, noun_key.replace("_", " ").capitalize())
    state = STATES.get(state_key, state_key.replace("_", " "))
    return {
        "severity": finding.get("severity", ERROR), "table": finding.get("table"),
        "sentence": f"{noun} {finding.get('object', '')} {state}.".replace("  ", " "),
        "expected": finding.get("expected"), "actual": finding.get("actual"), "fix": finding.get("hint"),
    }


def _split_kind(kind):
    for noun in (*NOUNS, "table", "column", "unique", "check", "exclusion", "index", "trigger", "function", "rule",
                 "policy", "enum", "migration"):
        if kind.startswith(noun + "_"):
            return noun, kind[len(noun) + 1:]
    return kind, ""


@dataclass(frozen=True)
class AppliedMigration:
    name: str  # app.migration
    applied_at: datetime.datetime | None
    by: str | None


def _who(details):
    """``user@host (job)`` from a row's ``actor``; ``by`` in baselines recorded before actors were."""
    actor = details.get("actor")
    if isinstance(actor, dict) and actor.get("os_user"):
        job = f" ({actor['job_id']})" if actor.get("job_id") else ""
        return f"{actor['os_user']}@{actor.get('host')}{job}"
    return details.get("by")


def _listed_migrations(details):
    """The migrations a row put in place: migrate's one (applied or faked), or a baseline's list."""
    if details.get("outcome") in ("applied", "faked") and isinstance(details.get("migration"), str):
        yield details["migration"]
    yield from (name for name in details.get("migrations_recorded") or () if isinstance(name, str))


def who_applied(using=DEFAULT_DB_ALIAS):
    """``{"app.name": who}`` from the newest schema-change audit rows (the newest run naming a migration wins)."""
    rows = (AuditLog.objects.using(using).filter(action__in=SCHEMA_CHANGE_ACTIONS, ts__isnull=False)
            .order_by("-ts").only("details")[:SCHEMA_CHANGES_READ])
    who = {}
    for row in rows:
        details = row.details if isinstance(row.details, dict) else {}
        by = _who(details)
        for migration in _listed_migrations(details):
            who.setdefault(migration, by)
    return who


def applied_migrations(using=DEFAULT_DB_ALIAS):
    """The newest :data:`APPLIED_SHOWN` applied migrations, newest first, and every applied ``(app, name)``."""
    connection = connections[using]
    if not table_exists(connection, "django_migrations"):
        return [], []
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name, applied FROM django_migrations ORDER BY applied DESC, id DESC")
        rows = cursor.fetchall()
    who = who_applied(using)
    newest = [
        AppliedMigration(f"{app}.{name}", _aware(applied), who.get(f"{app}.{name}"))
        for app, name, applied in rows[:APPLIED_SHOWN]
    ]
    return newest, [(app, name) for app, name, _ in rows]


def _aware(moment):
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment, datetime.UTC)
    return moment


@dataclass(frozen=True)
class DayMark:
    """One day's slot under the history chart: matched, drifted, or not verified."""

    x: float
    width: float
    day: datetime.date
    state: str  # "match", "drift" or "none"
    errors: int
    runs: int


def history_chart(using=DEFAULT_DB_ALIAS, now=None, days=HISTORY_DAYS):
    """The chart of error findings per day (the day's worst run) and a mark per day for its state."""
    now = now or timezone.now()
    end = now.astimezone(datetime.UTC).date()
    start = end - datetime.timedelta(days=days - 1)
    per_day = {}
    for ts, verdict, errors, _warnings in schema_verdict_history(days, using, now=now):
        day = ts.astimezone(datetime.UTC).date()
        worst, drift, runs = per_day.get(day, (0, False, 0))
        per_day[day] = (max(worst, errors), drift or verdict == DRIFT, runs + 1)
    chart = daily_bar_chart({day: worst for day, (worst, _, _) in per_day.items()}, start, end, "errors", whole_numbers=True)
    step = (chart.right - chart.left) / days
    marks = []
    for i in range(days):
        day = start + datetime.timedelta(days=i)
        worst, drift, runs = per_day.get(day, (0, False, 0))
        state = "none" if not runs else ("drift" if drift else "match")
        marks.append(DayMark(round(chart.left + i * step + 1, 2), round(step - 2, 2), day, state, worst, runs))
    return chart, marks


def schema_health(using=DEFAULT_DB_ALIAS, now=None):
    """Everything the page shows, as one dictionary for its template."""
    verdict = latest_schema_verdict(using)
    newest_applied, applied = applied_migrations(using)
    pending = pending_by_stage(applied)
    chart, marks = history_chart(using, now)
    findings = [plain_words(f) for f in verdict.findings] if verdict else []
    return {
        "verdict": verdict,
        "findings": findings,
        "applied": newest_applied,
        "applied_count": len(applied),
        "pending": {stage: [f"{app}.{name}" for app, name in nodes] for stage, nodes in pending.items()},
        "history_chart": chart,
        "history_marks": marks,
        "history_days": HISTORY_DAYS,
    }
