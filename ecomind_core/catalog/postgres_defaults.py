"""What PostgreSQL records for what Django builds, where the models say nothing.

Every catalog column that is neither compared through an object's own
attributes (``objects.py``: ``READS``) nor on the allow-list (``allowed.py``)
is compared here, raw, against the value PostgreSQL gives the object that
``migrate`` builds: an index is valid, ready and live; a table is logged,
not typed, not a partition, and has the default replica identity; and so on.

Values are spelled as ``to_jsonb`` spells them (the readers take these
columns with ``to_jsonb(row) - <the others>``): an oid is a string
(``"0"``: none), an ``int2vector`` a list, a ``"char"`` a one-letter
string, a ``bytea`` ``"\\x..."``. A live object carrying a column that no
entry here names is a column this release does not know
(``catalog_column_unreviewed``).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Default:
    """The value PostgreSQL gives what Django builds, how to mend a difference, how values read."""

    value: object
    hint: str
    #: How values read in the report: {"d": "default", ...}.
    words: dict = field(default_factory=dict)
    #: Other values that change no read and no write (accepted as well).
    also: tuple = ()
    #: The finding kind; None: the object's CHANGED kind.
    finding: str | None = None

    def accepts(self, value):
        return value == self.value or value in self.also

    def show(self, value):
        if isinstance(value, str) and value in self.words:
            return f"{value} ({self.words[value]})"
        if value is None or value == [] or value == "":
            return "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    @property
    def expected(self):
        """The expected value as the report shows it (with the other accepted ones)."""
        return " or ".join(self.show(v) for v in (self.value, *self.also))


RELREPLIDENT = {"d": "default: the primary key", "n": "nothing", "f": "full: every column", "i": "using an index"}
RELKIND = {"r": "ordinary table", "p": "partitioned table", "i": "index", "I": "partitioned index", "v": "view",
           "m": "materialized view", "f": "foreign table"}

_NOT_A_PARTITION = "a partition's rows belong to its parent too: DETACH PARTITION {table} from its parent"
_REBUILD = "drop it and recreate it as the migrations define it"
_REINDEX = ("REINDEX INDEX CONCURRENTLY {name} (or plain REINDEX INDEX {name}, which locks writes): "
            "it rebuilds the index and marks it valid, ready and live")
_INHERITED = "recreate it as the migrations define it: it came from a parent table"


#: pg_class columns every relation of ours shares (tables and indexes).
_RELATION = {
    "pg_class.reloftype": Default("0", "ALTER TABLE {table} NOT OF (a typed table refuses column changes)"),
    "pg_class.relisshared": Default(False, _REBUILD),
    "pg_class.relispopulated": Default(True, _REBUILD),
    "pg_class.relispartition": Default(False, _NOT_A_PARTITION),
    "pg_class.relpartbound": Default(None, _NOT_A_PARTITION),
}


#: An index's pg_class row. (Its persistence and owner follow its table's, compared there.)
_INDEX_RELATION = {
    **_RELATION,
    "pg_class.relkind": Default("i", _REBUILD, RELKIND),
    "pg_class.relrowsecurity": Default(False, _REBUILD),
    "pg_class.relforcerowsecurity": Default(False, _REBUILD),
    "pg_class.relreplident": Default("n", _REBUILD, RELREPLIDENT),
}
#: Whether PostgreSQL maintains and uses an index: every index Django builds is all three.
_INDEX_STATE = {
    "pg_index.indisvalid": Default(True, _REINDEX),
    "pg_index.indisready": Default(True, _REINDEX + " (until then, writes do not update it: a unique one no longer refuses "
                                                 "duplicates)"),
    "pg_index.indislive": Default(True, _REINDEX),
}
_NOT_A_FOREIGN_KEY = {
    "pg_constraint.confrelid": Default("0", _REBUILD),
    "pg_constraint.confupdtype": Default(" ", _REBUILD),
    "pg_constraint.confdeltype": Default(" ", _REBUILD),
    "pg_constraint.confmatchtype": Default(" ", _REBUILD),
    "pg_constraint.confkey": Default(None, _REBUILD),
    "pg_constraint.confdelsetcols": Default(None, _REBUILD),
}
_CONSTRAINT = {
    "pg_constraint.conparentid": Default("0", _INHERITED),
    "pg_constraint.conexclop": Default(None, _REBUILD),
}

DEFAULTS = {
    "table": {
        **_RELATION,
        "pg_class.relreplident": Default(
            "d", "ALTER TABLE {table} REPLICA IDENTITY DEFAULT (with none, every UPDATE and DELETE fails once a "
                 "publication publishes them: the worker's upserts too)",
            RELREPLIDENT, also=("f", "i")),
    },
    "column": {
        "pg_attribute.attfdwoptions": Default(None, "only a foreign table's column has options: recreate {table}"),
    },
    "index": {
        **_INDEX_RELATION,
        **_INDEX_STATE,
        "pg_index.indnullsnotdistinct": Default(False, _REBUILD),
        "pg_index.indisprimary": Default(False, _REBUILD),
        "pg_index.indisexclusion": Default(False, _REBUILD),
        "pg_index.indimmediate": Default(True, _REBUILD),
    },
    "primary_key": {
        **_INDEX_RELATION,
        **_INDEX_STATE,
        **_CONSTRAINT,
        **_NOT_A_FOREIGN_KEY,
        "pg_constraint.convalidated": Default(True, _REBUILD),
        "pg_constraint.conbin": Default(None, _REBUILD),
        "pg_index.indnullsnotdistinct": Default(False, _REBUILD),
    },
    "unique": {
        **_INDEX_RELATION,
        **_INDEX_STATE,
        **_CONSTRAINT,
        **_NOT_A_FOREIGN_KEY,
        "pg_constraint.convalidated": Default(True, _REBUILD),
        "pg_constraint.conbin": Default(None, _REBUILD),
    },
    "foreign_key": {
        **_CONSTRAINT,
        "pg_constraint.conbin": Default(None, _REBUILD),
    },
    "check": {
        **_CONSTRAINT,
        **_NOT_A_FOREIGN_KEY,
        "pg_constraint.condeferrable": Default(False, _REBUILD),
        "pg_constraint.condeferred": Default(False, _REBUILD),
    },
    "trigger": {
        "pg_trigger.tgparentid": Default("0", _INHERITED),
        "pg_trigger.tgconstrrelid": Default("0", "`manage.py pgtrigger install` recreates it as declared"),
        "pg_trigger.tgconstrindid": Default("0", "`manage.py pgtrigger install` recreates it as declared"),
        "pg_trigger.tgconstraint": Default("0", "`manage.py pgtrigger install` recreates it as declared"),
        "pg_trigger.tgdeferrable": Default(False, "`manage.py pgtrigger install` recreates it as declared"),
        "pg_trigger.tginitdeferred": Default(False, "`manage.py pgtrigger install` recreates it as declared"),
        "pg_trigger.tgnargs": Default(0, "`manage.py pgtrigger install` recreates it as declared (without arguments)"),
        "pg_trigger.tgargs": Default("\\x", "`manage.py pgtrigger install` recreates it as declared (without arguments)"),
        "pg_trigger.tgattr": Default([], "`manage.py pgtrigger install` recreates it as declared: UPDATE OF some "
                                         "columns lets updates of the others through"),
        "pg_trigger.tgoldtable": Default(None, "`manage.py pgtrigger install` recreates it as declared"),
        "pg_trigger.tgnewtable": Default(None, "`manage.py pgtrigger install` recreates it as declared"),
    },
    "function": {
        "pg_proc.prokind": Default("f", "`manage.py pgtrigger install` restores it", {"f": "function", "p": "procedure"}),
        "pg_proc.prosecdef": Default(False, "ALTER FUNCTION {name} SECURITY INVOKER (it runs with its owner's rights)"),
        "pg_proc.proisstrict": Default(False, "ALTER FUNCTION {name} CALLED ON NULL INPUT"),
        "pg_proc.proretset": Default(False, "`manage.py pgtrigger install` restores it"),
        "pg_proc.probin": Default(None, "`manage.py pgtrigger install` restores it"),
        "pg_proc.prosqlbody": Default(None, "`manage.py pgtrigger install` restores it"),
        "pg_proc.proconfig": Default(None, "ALTER FUNCTION {name} RESET ALL (a setting made for the function changes "
                                           "what it runs, e.g. its search_path)"),
        "pg_proc.protrftypes": Default(None, "`manage.py pgtrigger install` restores it"),
    },
}


def defaults(kind, drop=()):
    """The defaults of a kind of object (a fresh dict), without the columns in ``drop``."""
    return {column: default for column, default in DEFAULTS[kind].items() if column not in drop}
