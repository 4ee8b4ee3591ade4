"""Compare an expected catalog with a live one, object by object, into findings.

Nothing here knows a kind of object: each object says how it is matched and
what it compares (``objects.py``), and each finding kind its severity and
hint (``findings.KINDS``). The severity rule is in ``findings``; which
settings matter, in ``database_settings``.
"""

from collections import Counter

from .database_settings import verdict
from .findings import KINDS, UNOWNED_KINDS, Finding, finding
from .objects import show

#: Tables that belong to the tooling rather than to any model.
BOOKKEEPING_TABLES = {"django_migrations"}


class _Comparison:
    def __init__(self, expected, live, owned_tables):
        self.expected, self.live, self.owned = expected, live, set(owned_tables)
        self.findings = []
        #: Catalog column -> [(object, value, table)] of columns this release does not know.
        self.unknown = {}

    def add(self, kind, obj, expected, actual, table, hint=None, catalog_column=None, **hint_names):
        if kind is None:
            return
        hint_names.setdefault("name", obj)
        self.findings.append(finding(
            kind, obj, show(expected), show(actual), table=table, owned_tables=self.owned, hint=hint,
            catalog_column=catalog_column, schema=self.live.schema, **hint_names,
        ))

    def run(self):
        for name, table in self.expected.tables.items():
            live = self.live.tables.get(name)
            if live is None:
                self.add(table.MISSING, name, "present", "absent", name)
            else:
                self.compare_object(table, live, table=name)
                for part in table.PARTS:
                    self.compare_parts(getattr(table, part), getattr(live, part), table=name)
                self.compare_publications(live)
        self.compare_unowned_tables()
        self.compare_owners()
        self.compare_parts(list(self.expected.enums.values()), list(self.live.enums.values()), table=None,
                           table_of=self.enum_table)
        self.compare_parts(list(self.expected.functions.values()), list(self.live.functions.values()), table=None,
                           table_of=self.function_table, report_unexpected=False)
        for setting in self.live.settings:
            found = verdict(setting)
            if found:
                self.add(found.kind, setting.label(None), found.expected, setting.value, None, hint=found.hint,
                         catalog_column="pg_db_role_setting.setconfig" if setting.source != "this session" else None)
        for qualified, table in self.live.shadowing:
            self.add("table_shadowed", qualified, f"{self.live.schema}.{table}", qualified, table)
        self.report_unknown_columns()
        return self.findings

    # -- generic ---------------------------------------------------------------
    def compare_object(self, want, have, table):
        # The live object's name where the models leave it to the database (a field's unique=True).
        name = want.name or getattr(have, "name", None)
        for row, expected, actual in want.differences(have):
            kind = row.finding or want.CHANGED
            # Say which attribute, unless the finding kind is about this one attribute only.
            shared = row.labelled or sum(1 for other in want.COMPARED if (other.finding or want.CHANGED) == kind) > 1
            detail = (f"{row.label}: {row.show(expected)}", f"{row.label}: {row.show(actual)}") if shared else (
                row.show(expected), row.show(actual))
            hint = self.special_hint(row, expected, actual)
            if hint is None and row.hint:
                hint = row.hint.format(table=table, name=name)
            self.add(kind, want.label(table), *detail, table, hint=hint, catalog_column=", ".join(row.columns) or None,
                     name=name)
        for column, value in want.unknown_columns(have).items():
            self.unknown.setdefault(column, []).append((want.label(table), value, table))

    def compare_parts(self, expected_items, live_items, table, table_of=None, report_unexpected=True):
        """Match expected objects with live ones by key; report missing, changed and unexpected."""
        unmatched = list(live_items)
        for item in expected_items:
            owner = table_of(item) if table_of else table
            found = next((live for key in item.match_keys() for live in unmatched if key in live.found_by()), None)
            if found is None:
                self.add(item.MISSING, item.missing_label(owner), item.describe(), "absent", owner, name=item.name)
                continue
            unmatched.remove(found)
            self.compare_object(item, found, table=owner)
        if not report_unexpected:
            return
        for found in unmatched:
            owner = table_of(found) if table_of else table
            self.add(found.UNEXPECTED, found.label(owner), "absent", found.describe(), owner, name=found.name)

    @staticmethod
    def special_hint(row, expected, actual):
        if row.finding == "enum_labels" and [label.lower() for label in actual] == list(expected):
            return "labels differ only in case: `manage.py baseline --rename-enum-labels` renames them in place"
        return None

    def compare_publications(self, live):
        """A publication that makes PostgreSQL refuse the table's UPDATEs and DELETEs (the worker's upserts)."""
        for publication in live.publications:
            if publication.blocks_writes:
                self.add("publication_blocks_writes", publication.label(live.name), "UPDATE and DELETE allowed",
                         publication.blocks_writes, live.name, publication=publication.name,
                         catalog_column="pg_class.relreplident, pg_publication_rel.prqual, pg_publication_rel.prattrs")

    def report_unknown_columns(self):
        """One error per catalog column this release neither compares nor allows (a newer PostgreSQL's)."""
        for column, seen in sorted(self.unknown.items()):
            seen = sorted(seen, key=lambda entry: entry[0])
            shown = "; ".join(f"{obj}: {show(value)}" for obj, value, _ in seen[:3])
            more = f" (and {len(seen) - 3} more)" if len(seen) > 3 else ""
            self.add("catalog_column_unreviewed", column, "a column this release compares or allows",
                     f"{shown}{more}", None, catalog_column=column)

    # -- across tables ---------------------------------------------------------
    def compare_unowned_tables(self):
        # One finding per table nothing of ours describes: made directly (its
        # hint has nothing to fill in), as a shared database may hold thousands.
        kind = KINDS[UNOWNED_KINDS[0]]
        self.findings.extend(
            Finding(kind.name, name, "absent", "present", kind.severity, kind.hint, name)
            for name in sorted(set(self.live.other_tables) - set(self.expected.tables) - BOOKKEEPING_TABLES)
        )

    def compare_owners(self):
        """The owned tables should share one owner; the odd ones out are warnings."""
        owners = {name: self.live.tables[name].owner for name in self.owned if name in self.live.tables}
        counted = Counter(owner for owner in owners.values() if owner)
        if len(counted) < 2:
            return
        usual = counted.most_common(1)[0][0]
        for name, owner in sorted(owners.items()):
            if owner and owner != usual:
                self.add("table_owner", name, usual, owner, name)

    def enum_table(self, enum):
        """The first expected table with a column of this enum type: whose finding it is."""
        return next(
            (table.name for table in self.expected.tables.values() for column in table.columns if column.type == enum.name),
            None,
        )

    @staticmethod
    def function_table(function):
        return function.table


def compare(expected, live, owned_tables):
    """Findings for every difference between ``expected`` and ``live``."""
    return _Comparison(expected, live, owned_tables).run()
