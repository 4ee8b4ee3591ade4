"""The metrics read from the database at each scrape, in a fixed number of index lookups.

Every value is database-wide, so every replica reports the same one: alert
rules take ``max`` across instances (deploy/monitoring/ecomind-alerts.yml).
Cost does not grow with the tables (docs/deployment/monitoring.md, "Cost";
``benchmarks/metrics_scrape.py``):

* the newest recorded schema and roll-up verdicts: the newest row of one
  action through the ``(action, ts)`` index of ``audit_logs``, reading two
  numbers out of its ``details``;
* pending migrations: the migration graph read from disk once per process,
  against ``SELECT app, name FROM django_migrations``;
* worker lag: ``max(ts)`` of ``events_enriched``, one step of the ``ts`` index;
* events per minute: a count over the last :data:`EVENT_WINDOW` through the
  ``ts`` index (its cost follows the event rate, not the table's size);
* months of partitions ready after the current one, per partitioned table:
  its partitions' bounds, from the catalog (``pg_inherits``), no table read;
* sign-in failures and lockouts: the audit rows ``auth.login_failed`` and
  ``auth.lockout`` of the last :data:`SIGNIN_WINDOW`, through ``(action, ts)``.
  Audit rows rather than process counters: they are the same for every
  replica, survive restarts, and every attempt writes one already.

All of it runs in one transaction under a ``statement_timeout``: a locked
or slow database fails the scrape's database part (``ecomind_database_up
0``, and one log line per change, password masked), never the scrape.
"""

import copy
import datetime
import logging

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from ecomind_core.db.redaction import describe, redact
from ecomind_core.db.tables import table_exists
from ecomind_core.migration_safety.stages import split_unapplied
from ecomind_core.models import AuditLog, Event
from ecomind_core.partitions.inventory import partitions_of
from ecomind_core.partitions.maintenance import months_ahead
from ecomind_core.partitions.options import partitioned_models
from ecomind_core.probes.readiness import migration_graph
from ecomind_core.rollups.status import VERIFY as ROLLUPS_VERIFY
from ecomind_core.signin.audit import LOCKOUT, LOGIN_FAILED

from .verdicts import VERIFY as SCHEMA_VERIFY
from .verdicts import as_utc

EVENT_WINDOW = datetime.timedelta(minutes=5)
SIGNIN_WINDOW = datetime.timedelta(minutes=15)
#: Milliseconds any one scrape statement may take on the server.
STATEMENT_TIMEOUT_MS = 1000
STAGES = {"pre_deploy": 0, "post_deploy": 1}  # label -> position in split_unapplied's answer

logger = logging.getLogger(__name__)


def pending_by_stage(applied):
    """``{"pre_deploy": [...], "post_deploy": [...]}``: unapplied ``(app, name)`` by when they run."""
    loader = copy.copy(migration_graph())  # read once per process, shared with the readiness probe
    applied = set(applied)
    applied |= {key for key, migration in loader.replacements.items() if set(migration.replaces) <= applied}
    loader.applied_migrations = dict.fromkeys(applied)
    split = split_unapplied(loader)
    return {stage: split[position] for stage, position in STAGES.items()}


def _naive_utc(moment):
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


class DatabaseCollector:
    """A prometheus-client collector: ``collect()`` reads the database once per scrape."""

    #: Whether the last scrape of this process could read the database: the log says so once per change.
    last_read_ok = True

    def __init__(self, using=DEFAULT_DB_ALIAS):
        self.using = using

    def describe(self):
        return []  # values come from the database at scrape time only

    def collect(self):
        up = GaugeMetricFamily("ecomind_database_up", "1 when this scrape could read the database, else 0.")
        try:
            readings = self.read()
        except DatabaseError as exc:
            if DatabaseCollector.last_read_ok:
                detail = " ".join(str(exc).split()) or type(exc).__name__
                logger.warning("metrics: cannot read %s", redact(f"{describe(self.using)}: {detail}", self.using))
            DatabaseCollector.last_read_ok = False
            up.add_metric([], 0)
            yield up
            return
        if not DatabaseCollector.last_read_ok:
            logger.warning("metrics: reading %s again", describe(self.using))
        DatabaseCollector.last_read_ok = True
        up.add_metric([], 1)
        yield up
        yield from self.families(readings, timezone.now())

    def read(self):
        connection = connections[self.using]
        audit = connection.ops.quote_name(AuditLog._meta.db_table)
        events = connection.ops.quote_name(Event._meta.db_table)
        now = timezone.now()
        readings = {}
        with transaction.atomic(using=self.using), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
            applied = []
            if table_exists(connection, "django_migrations"):
                cursor.execute("SELECT app, name FROM django_migrations")
                applied = cursor.fetchall()
            readings["pending"] = pending_by_stage(applied)
            for key, action, fields in (
                ("schema", SCHEMA_VERIFY, ("errors", "warnings")),
                ("rollups", ROLLUPS_VERIFY, ("divergent_rows", "days_checked")),
            ):
                cursor.execute(
                    f"SELECT ts, details->>%s, details->>%s FROM {audit} WHERE action = %s AND ts IS NOT NULL "
                    "ORDER BY ts DESC LIMIT 1",
                    [*fields, action],
                )
                row = cursor.fetchone()
                readings[key] = (as_utc(row[0]), *(int(v or 0) for v in row[1:])) if row else None
            cursor.execute(f"SELECT max(ts) FROM {events}")
            readings["newest_event"] = as_utc(cursor.fetchone()[0])
            cursor.execute(f"SELECT count(*) FROM {events} WHERE ts >= %s AND ts <= %s",
                           [_naive_utc(now - EVENT_WINDOW), _naive_utc(now)])
            readings["recent_events"] = cursor.fetchone()[0]
            cursor.execute(
                f"SELECT action, count(*) FROM {audit} WHERE action IN (%s, %s) AND ts >= %s GROUP BY action",
                [LOGIN_FAILED, LOCKOUT, _naive_utc(now - SIGNIN_WINDOW)],
            )
            readings["signins"] = dict(cursor.fetchall())
            readings["partitions"] = {}
            if connection.vendor == "postgresql":
                tables = [connection.ops.quote_name(model._meta.db_table) for model in partitioned_models()]
                readings["partitions"] = {table: months_ahead(found) for table, found in partitions_of(cursor, tables).items()}
        return readings

    @staticmethod
    def families(readings, now):
        def gauge(name, documentation, value=None, labels=(), samples=()):
            family = GaugeMetricFamily(name, documentation, labels=list(labels) or None)
            for label_values, sample in samples or ([((), value)] if value is not None else []):
                family.add_metric(list(label_values), sample)
            return family

        def age(moment):
            return max(0.0, (now - moment).total_seconds())

        schema, rollups = readings["schema"], readings["rollups"]
        yield gauge("ecomind_verification_recorded",
                    "1 when a verdict of this check has been recorded (verify_schema / verify_rollups --record), else 0.",
                    labels=["check"], samples=[(("schema",), int(schema is not None)), (("rollups",), int(rollups is not None))])
        if schema:
            yield gauge("ecomind_schema_errors", "Error findings in the newest recorded verify_schema verdict.", schema[1])
            yield gauge("ecomind_schema_warnings", "Warning findings in the newest recorded verify_schema verdict.", schema[2])
            yield gauge("ecomind_schema_verdict_age_seconds", "Seconds since the newest recorded verify_schema verdict.",
                        age(schema[0]))
        if rollups:
            yield gauge("ecomind_rollups_divergent_rows", "Divergent daily-total rows in the newest recorded verify_rollups verdict.",
                        rollups[1])
            yield gauge("ecomind_rollups_verdict_age_seconds", "Seconds since the newest recorded verify_rollups verdict.",
                        age(rollups[0]))
        yield gauge("ecomind_migrations_pending", "Migrations on disk not applied to the database, by release stage.",
                    labels=["stage"], samples=[((stage,), len(nodes)) for stage, nodes in readings["pending"].items()])
        if readings["newest_event"] is not None:
            yield gauge("ecomind_newest_event_age_seconds",
                        "Seconds since the newest event's ts (worker lag; 0 if an event is dated in the future).",
                        age(readings["newest_event"]))
        yield gauge("ecomind_events_per_minute",
                    f"Events whose ts is in the last {int(EVENT_WINDOW.total_seconds() // 60)} minutes, per minute.",
                    readings["recent_events"] / (EVENT_WINDOW.total_seconds() / 60))
        if readings.get("partitions"):
            yield gauge("ecomind_partition_months_ahead",
                        "Whole months of partitions ready after the current one (maintain_partitions keeps PARTITIONS_AHEAD).",
                        labels=["table"], samples=[((table,), ahead) for table, ahead in readings["partitions"].items()])
        window = int(SIGNIN_WINDOW.total_seconds() // 60)
        yield gauge("ecomind_signin_failures_recent", f"Failed staff sign-ins (auth.login_failed) in the last {window} minutes.",
                    readings["signins"].get(LOGIN_FAILED, 0))
        yield gauge("ecomind_signin_lockouts_recent", f"Staff sign-in lockouts begun (auth.lockout) in the last {window} minutes.",
                    readings["signins"].get(LOCKOUT, 0))

