"""The eight tables of the EcoMind database, exactly as the legacy schema has them.

Table and column names, column order, types and nullability, constraint and
index names all match ``alembic-001`` (plus ``users.password_hash`` from
revision 002). There are deliberately no foreign keys from the high-volume
tables (events, daily totals, audit rows) to ``orgs``/``users``: the
enrichment worker writes them with plain SQL by id, and the legacy schema has
none. Field types that need care are in ``ecomind_core.fields``.
"""

import pgtrigger
from django.db import models
from django.utils import timezone

# Before the models: it lets Meta say partition_by_month (ecomind_core/partitions/).
import ecomind_core.partitions.options  # noqa: F401
from ecomind_core.fields import (
    EnumField,
    ImmediateForeignKey,
    NaiveUTCDateTimeField,
    PlainJSONField,
    TextIdField,
)


class Plan(models.TextChoices):
    """Labels of the ``plantype`` enum, in the enum's order."""

    FREE = "free", "Free"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


class Role(models.TextChoices):
    """Labels of the ``role`` enum, in the enum's order."""

    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    ANALYST = "analyst", "Analyst"
    VIEWER = "viewer", "Viewer"
    BILLING = "billing", "Billing"


class Organisation(models.Model):
    """A customer organisation (table ``orgs``)."""

    id = TextIdField(prefix="org")
    name = models.CharField()
    plan = EnumField(enum_name="plantype", choices=Plan.choices, null=True, blank=True)
    created_at = NaiveUTCDateTimeField(null=True, blank=True, default=timezone.now)

    class Meta:
        db_table = "orgs"
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.id})"


class CustomerUser(models.Model):
    """A person in a customer organisation (table ``users``).

    Not a login of this application: EcoMind staff sign in to the admin with
    ``django.contrib.auth`` accounts.
    """

    id = TextIdField(prefix="user")
    org = ImmediateForeignKey(
        Organisation, on_delete=models.PROTECT, db_index=False, related_name="users", verbose_name="organisation"
    )
    email = models.CharField()
    name = models.CharField(null=True, blank=True)
    role = EnumField(enum_name="role", choices=Role.choices, null=True, blank=True)
    created_at = NaiveUTCDateTimeField(null=True, blank=True, default=timezone.now)
    # Legacy revision 002 (migration 0002). Never shown in the admin.
    password_hash = models.CharField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "users"
        ordering = ["email"]
        constraints = [models.UniqueConstraint(fields=["email"], name="users_email_key")]

    def __str__(self):
        return self.email


class Event(models.Model):
    """One LLM call with its footprint (table ``events_enriched``)."""

    #: The enrichment worker inserts these rows with plain SQL naming every
    #: column (docs/schema.md): check_migrations never lets one go.
    written_by_worker = True

    id = TextIdField(prefix="evt", hex_digits=24)
    org_id = models.CharField()
    user_id = models.CharField()
    provider = models.CharField()
    model = models.CharField(null=True, blank=True)
    tokens_in = models.IntegerField(null=True, blank=True)
    tokens_out = models.IntegerField(null=True, blank=True)
    node_type = models.CharField(null=True, blank=True)
    region = models.CharField(null=True, blank=True)
    kwh = models.FloatField(help_text="Energy of this call in kWh.")
    water_l = models.FloatField(help_text="Water of this call in litres.")
    co2_kg = models.FloatField(help_text="Emissions of this call in kg of CO2.")
    ts = NaiveUTCDateTimeField(help_text="When the call happened (UTC).")
    source = models.CharField(null=True, blank=True)
    metadata = PlainJSONField(null=True, blank=True)
    created_at = NaiveUTCDateTimeField(null=True, blank=True, default=timezone.now)

    class Meta:
        db_table = "events_enriched"
        indexes = [
            models.Index(fields=["org_id", "ts"], name="ix_events_org_ts"),
            models.Index(fields=["user_id", "ts"], name="ix_events_user_ts"),
            models.Index(fields=["org_id"], name="ix_events_enriched_org_id"),
            models.Index(fields=["ts"], name="ix_events_enriched_ts"),
            models.Index(fields=["user_id"], name="ix_events_enriched_user_id"),
        ]
        # On PostgreSQL: monthly range partitions by ts, primary key (id, ts) (migration 0006).
        partition_by_month = "ts"

    def __str__(self):
        return self.id


#: The footprint of one call, as events hold it and the daily tables sum it:
#: column -> (what it measures, unit). Every report and check reads this.
FOOTPRINT = {"kwh": ("Energy", "kWh"), "water_l": ("Water", "litres"), "co2_kg": ("CO2", "kg")}


def daily_measures():
    """The four measure columns every daily table ends with.

    Returned (not inherited) so each table can put its own key columns
    before them, as the legacy column order has it; an abstract base would
    place its fields first.
    """
    return (
        models.IntegerField(null=True, blank=True, help_text="Number of calls."),
        models.FloatField(null=True, blank=True, help_text="kWh."),
        models.FloatField(null=True, blank=True, help_text="Litres of water."),
        models.FloatField(null=True, blank=True, help_text="kg of CO2."),
    )


class DailyTotals(models.Model):
    """Daily roll-up of events; the enrichment worker upserts one row per event."""

    #: As for Event: the worker's upserts name every column.
    written_by_worker = True

    #: The count of calls, then the footprint sums.
    MEASURES = ("call_count", *FOOTPRINT)

    class Meta:
        abstract = True

    @classmethod
    def key_columns(cls):
        """The event columns that key this table after ``date`` (its primary key, less the day)."""
        return tuple(field.column for field in cls._meta.pk.fields if field.name != "date")


class DailyOrgTotal(DailyTotals):
    """Per organisation and day (table ``daily_org_agg``)."""

    pk = models.CompositePrimaryKey("date", "org_id")
    date = models.DateField()
    org_id = models.CharField()
    call_count, kwh, water_l, co2_kg = daily_measures()

    class Meta:
        db_table = "daily_org_agg"
        indexes = [models.Index(fields=["date", "org_id"], name="ix_daily_org_date")]


class DailyUserTotal(DailyTotals):
    """Per user and day (table ``daily_user_agg``)."""

    pk = models.CompositePrimaryKey("date", "org_id", "user_id")
    date = models.DateField()
    org_id = models.CharField()
    user_id = models.CharField()
    call_count, kwh, water_l, co2_kg = daily_measures()

    class Meta:
        db_table = "daily_user_agg"


class DailyProviderTotal(DailyTotals):
    """Per AI provider and day (table ``daily_provider_agg``)."""

    pk = models.CompositePrimaryKey("date", "org_id", "provider")
    date = models.DateField()
    org_id = models.CharField()
    provider = models.CharField()
    call_count, kwh, water_l, co2_kg = daily_measures()

    class Meta:
        db_table = "daily_provider_agg"


class DailyModelTotal(DailyTotals):
    """Per AI model and day (table ``daily_model_agg``)."""

    pk = models.CompositePrimaryKey("date", "org_id", "provider", "model")
    date = models.DateField()
    org_id = models.CharField()
    provider = models.CharField()
    model = models.CharField()
    call_count, kwh, water_l, co2_kg = daily_measures()

    class Meta:
        db_table = "daily_model_agg"


#: The database itself refuses to change or remove an audit row, whatever the
#: client. The only way round is purge_audit_logs, which ignores this trigger
#: for its own transaction.
#:
#: A statement-level BEFORE trigger: it refuses the UPDATE or DELETE statement
#: itself, once, before any row is touched (so also one that would match no
#: row), and costs nothing per row. A row-level trigger would run, and ask
#: ``pgtrigger.ignore`` for leave, once for every row a purge deletes (10x a
#: plain DELETE). pgtrigger's ``Protect`` cannot do this: at statement level
#: it needs a transition table, which PostgreSQL allows for one event only
#: and which copies every affected row.
APPEND_ONLY = pgtrigger.Trigger(
    name="append_only", level=pgtrigger.Statement, when=pgtrigger.Before, operation=pgtrigger.Update | pgtrigger.Delete,
    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
)


def append_only_trigger_uri():
    """``app.Model:name``, as ``pgtrigger.ignore`` and ``manage.py pgtrigger`` want it."""
    return APPEND_ONLY.get_uri(AuditLog)


class AuditLog(models.Model):
    """Who did what, when (table ``audit_logs``); append-only."""

    id = TextIdField(prefix="audit", hex_digits=24)
    org_id = models.CharField()
    user_id = models.CharField(null=True, blank=True)
    action = models.CharField()
    resource = models.CharField()
    details = PlainJSONField(null=True, blank=True)
    # NOT NULL since migration 0006: the partition key of a monthly partition.
    ts = NaiveUTCDateTimeField(default=timezone.now)

    class Meta:
        db_table = "audit_logs"
        indexes = [
            models.Index(fields=["org_id"], name="ix_audit_logs_org_id"),
            models.Index(fields=["ts"], name="ix_audit_logs_ts"),
            # Migration 0003: the admin's filters and search, newest first.
            models.Index(fields=["action", "ts"], name="ix_audit_logs_action_ts"),
            models.Index(fields=["resource", "ts"], name="ix_audit_logs_resource_ts"),
            models.Index(fields=["user_id"], name="ix_audit_logs_user_id"),
        ]
        triggers = [APPEND_ONLY]
        # On PostgreSQL: monthly range partitions by ts, primary key (id, ts) (migration 0006).
        partition_by_month = "ts"

    def __str__(self):
        return f"{self.action} {self.resource} ({self.id})"
