"""Field types that make Django build the legacy column types exactly.

Each class says in the model what the database gets, so the models stay the
single source of truth (and ``makemigrations --check`` stays clean):

* :class:`TextIdField`: application-made text primary key, ``varchar`` with
  no length and no ``varchar_pattern_ops`` ``_like`` index beside it.
* :class:`EnumField`: a PostgreSQL enum type whose labels are the field's
  choices, in order; a ``CHECK (... IN ...)`` constraint on SQLite.
* :class:`PlainJSONField`: ``json`` (text kept as written), not ``jsonb``.
* :class:`NaiveUTCDateTimeField`: ``timestamp without time zone`` holding
  UTC, while Python sees aware UTC datetimes.
* :class:`ImmediateForeignKey`: a foreign key constraint named the way
  PostgreSQL names it (``<table>_<column>_fkey``) and ``NOT DEFERRABLE``.

The DDL for the enum types, the foreign key and the ``_like`` indexes lives in
the schema editor of ``ecomind_core.db.backends.postgresql``.
"""

import datetime
import functools
import secrets

from django.core import checks
from django.db import models
from psycopg.types.json import Json, Jsonb


def new_id(prefix, hex_digits=12):
    """An application-made text id with a legacy prefix: ``org_1a2b3c4d5e6f``.

    (Events written by the enrichment worker use plain
    ``gen_random_uuid()::text`` ids; both shapes coexist in ``events_enriched``.)
    """
    return f"{prefix}_{secrets.token_hex(hex_digits // 2)}"


class TextIdField(models.CharField):
    """Primary key holding ``<prefix>_<hex_digits hex digits>``; PostgreSQL type ``varchar``.

    Organisations and users keep the legacy 12 hex digits. Events and audit
    rows number in the hundreds of millions, where 48 random bits would
    collide, so their models ask for 24.
    """

    #: Read by the schema editor: a text key is looked up by equality only, so
    #: the ``varchar_pattern_ops`` index Django adds for LIKE would be dead weight.
    pattern_ops_index = False

    def __init__(self, *args, prefix, hex_digits=12, **kwargs):
        if not prefix or not str(prefix).isidentifier():
            raise ValueError(f"TextIdField prefix must be a short identifier such as 'org', not {prefix!r}")
        if hex_digits < 12 or hex_digits % 2:
            raise ValueError(f"TextIdField hex_digits must be an even number of at least 12, not {hex_digits!r}")
        self.prefix, self.hex_digits = prefix, hex_digits
        kwargs.update(primary_key=True, editable=False, default=functools.partial(new_id, prefix, hex_digits))
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        # The default (and hex_digits, which only shapes it) is Python-side:
        # the column has no default, so migrations need not carry it.
        for implied in ("primary_key", "editable", "default"):
            kwargs.pop(implied, None)
        kwargs["prefix"] = self.prefix
        return name, path, args, kwargs


class EnumField(models.CharField):
    """Text column restricted to its choices: a PostgreSQL enum type.

    ``enum_name`` names the type; its labels are the choice values in the
    order given. Changing the choices therefore changes the database (the
    schema editor adds labels), so ``choices`` is not a database-free
    attribute here as it is on a plain CharField.
    """

    non_db_attrs = tuple(attr for attr in models.CharField.non_db_attrs if attr != "choices")

    def __init__(self, *args, enum_name, **kwargs):
        self.enum_name = enum_name
        super().__init__(*args, **kwargs)

    @property
    def labels(self):
        return [value for value, _ in self.flatchoices]

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if not self.choices:
            errors.append(checks.Error("EnumField needs choices: they are the enum labels.", obj=self, id="ecomind.E001"))
        return errors

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["enum_name"] = self.enum_name
        return name, path, args, kwargs

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return connection.ops.quote_name(self.enum_name)
        return super().db_type(connection)

    def db_check(self, connection):
        # PostgreSQL's enum type already refuses other values.
        if connection.vendor == "postgresql":
            return None
        allowed = ", ".join("'%s'" % label.replace("'", "''") for label in self.labels)
        return f"{connection.ops.quote_name(self.column)} IN ({allowed})"


class PlainJSONField(models.JSONField):
    """JSON in a PostgreSQL ``json`` column (not ``jsonb``).

    Values are sent as ``json`` rather than Django's ``jsonb`` adapter so the
    text is stored as written; the backend reads ``json`` back as text (as
    Django does for ``jsonb``) so that ``from_db_value`` decodes it once.
    Key lookups (``details__key=...``) need ``jsonb`` operators and are not
    supported on this field.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        adapted = super().get_db_prep_value(value, connection, prepared)
        if isinstance(adapted, Jsonb):
            return Json(adapted.obj, dumps=adapted.dumps)
        return adapted


class NaiveUTCDateTimeField(models.DateTimeField):
    """``timestamp without time zone`` holding UTC; aware UTC in Python."""

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "timestamp"
        return super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        value = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor == "postgresql" and isinstance(value, datetime.datetime) and value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value

    def from_db_value(self, value, expression, connection):
        if isinstance(value, datetime.datetime) and value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value


class ImmediateForeignKey(models.ForeignKey):
    """Foreign key whose constraint is ``<table>_<column>_fkey``, NOT DEFERRABLE.

    Django's own are hash-named and ``DEFERRABLE INITIALLY DEFERRED``; the
    legacy schema (and the enrichment worker's error handling) expect
    PostgreSQL's defaults. The schema editor reads :meth:`constraint_name`.
    """

    deferrable = False

    def constraint_name(self):
        return f"{self.model._meta.db_table}_{self.column}_fkey"
