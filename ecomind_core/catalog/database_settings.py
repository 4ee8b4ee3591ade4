"""Settings made for sessions of this database, and which of them change every transaction.

``ALTER DATABASE ... SET`` and ``ALTER ROLE ... [IN DATABASE ...] SET``
(pg_db_role_setting) apply to every session they match: the enrichment
worker's, the application's, an operator's psql. Django's own connections
set some of them back (Django sets ``TimeZone`` to UTC on every connection),
but the worker's plain SQL sessions take them as they are. So:

* **harmful** (errors): a value that changes what a statement returns or
  whether it succeeds, for every transaction. Each entry says which values
  are fine.
* **risky** (warnings): settings that can cancel a long statement or lose the
  last commits in a crash, but change no result of one that succeeds.
* **harmless**: ``allowed.ALLOWED_SETTINGS`` (how fast, what is logged).
* anything else: a warning (``setting_unreviewed``), until someone decides.

``search_path`` is compared on its own (``table_shadowed``).
"""

from dataclasses import dataclass

from .allowed import ALLOWED_SETTINGS


def _off(value):
    return value.strip().lower() in {"off", "false", "no", "0", "f", "n", "of"}


#: Time zone names that are UTC all year (PostgreSQL's tz database; a zone with a UTC winter, like Europe/London,
#: is not).
UTC_ZONES = {
    "utc", "etc/utc", "uct", "etc/uct", "universal", "etc/universal", "zulu", "etc/zulu", "gmt", "etc/gmt", "gmt0",
    "etc/gmt0", "gmt+0", "gmt-0", "etc/gmt+0", "etc/gmt-0", "greenwich", "etc/greenwich", "utc0", "z",
}


def _utc(value):
    return value.strip().strip("'\"").lower() in UTC_ZONES


def _read_committed(value):
    return value.strip().lower() in {"read committed", "read uncommitted"}  # read uncommitted is read committed


def _float_digits(value):
    try:
        return int(value) >= 1
    except ValueError:
        return False


@dataclass(frozen=True)
class Harmful:
    #: Whether a value is fine.
    fine: object
    #: The fine value, as the report shows it.
    expected: str
    #: What the setting does to every transaction, for the hint.
    why: str
    #: The finding kind.
    kind: str = "setting_harmful"


HARMFUL = {
    "default_transaction_read_only": Harmful(
        _off, "off", "every transaction is read-only: every write fails; run the RESET in a session that first says "
                     "SET default_transaction_read_only = off"),
    "transaction_read_only": Harmful(_off, "off", "every transaction is read-only: every write fails"),
    "session_replication_role": Harmful(
        lambda v: v.strip().lower() == "origin", "origin",
        "no trigger and no foreign key fires under it", kind="setting_replication_role"),
    "timezone": Harmful(
        _utc, "UTC",
        "the enrichment worker sends zone-aware timestamps into `timestamp without time zone` columns: PostgreSQL "
        "shifts every stored ts by the zone's offset while the worker picks the roll-up day in UTC, so events land on "
        "other days than their totals (docs/schema.md)"),
    "default_transaction_isolation": Harmful(
        _read_committed, "read committed",
        "under repeatable read or serializable, concurrent upserts of one day's totals fail with serialization "
        "errors that the worker does not retry"),
    "transaction_isolation": Harmful(
        _read_committed, "read committed",
        "under repeatable read or serializable, concurrent upserts of one day's totals fail with serialization "
        "errors that the worker does not retry"),
    "extra_float_digits": Harmful(
        _float_digits, "1 (the default) or more",
        "footprint values (double precision) are sent to clients rounded: what a read returns is not what was stored"),
    "datestyle": Harmful(
        lambda v: v.strip().lower().replace(" ", "").startswith("iso"), "ISO, MDY (the default) or ISO, DMY",
        "dates and timestamps are sent as text in another format, which drivers (psycopg) cannot read"),
    "client_encoding": Harmful(
        lambda v: v.strip().strip("'\"").lower().replace("-", "") in {"utf8", "unicode"}, "UTF8",
        "text is converted to another encoding: characters outside it make reads and writes fail"),
}

#: Settings that can make a statement fail (or lose the last commits in a crash) without changing what one that
#: succeeds returns: warnings.
RISKY = {
    "statement_timeout": "cancels any statement that runs longer: migrations, roll-up checks and purges on big tables",
    "lock_timeout": "cancels any statement that waits longer for a lock",
    "idle_in_transaction_session_timeout": "ends sessions idle inside a transaction",
    "idle_session_timeout": "ends idle sessions: connection pools see errors",
    "temp_file_limit": "cancels queries that spill more than this to disk",
    "synchronous_commit": "off or local: a crash of the server can lose the last commits it acknowledged",
}


@dataclass(frozen=True)
class Verdict:
    kind: str
    expected: str
    hint: str


def _reset(setting):
    where = setting.source
    if where == "this session":
        return "unset it where this session gets it (PGOPTIONS, the connection's options)"
    if where.startswith("database "):
        return f"ALTER DATABASE {where.split(' ', 1)[1]} RESET {setting.name}"
    if " in database " in where:
        role, database = where[len("role "):].split(" in database ")
        return f"ALTER ROLE {role} IN DATABASE {database} RESET {setting.name}"
    return f"ALTER ROLE {where[len('role '):]} RESET {setting.name}"


def verdict(setting):
    """The finding a setting deserves (None: harmless or fine)."""
    name = setting.name.lower()
    if name == "search_path":
        return None
    harmful = HARMFUL.get(name)
    if harmful is not None:
        if harmful.fine(setting.value):
            return None
        return Verdict(harmful.kind, harmful.expected, f"{_reset(setting)} ({harmful.why})")
    if setting.source == "this session":
        return None  # only the settings above are read for this session
    if name in RISKY:
        if name == "synchronous_commit" and setting.value.strip().lower() not in {"off", "local"}:
            return None
        return Verdict("setting_risky", "not set", f"{_reset(setting)} if that is not meant ({RISKY[name]})")
    if name in {n.lower() for n in ALLOWED_SETTINGS}:
        return None
    return Verdict("setting_unreviewed", "not set",
                   f"{_reset(setting)}, or add it to allowed.ALLOWED_SETTINGS with the reason it changes no read or "
                   "write (this release does not know what it does; docs/verify_schema.md)")
