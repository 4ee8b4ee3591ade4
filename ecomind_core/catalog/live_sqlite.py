"""Read a SQLite catalog with pragma table-valued functions: five queries in all.

SQLite keeps constraint names and CHECK clauses only in each table's
``CREATE TABLE`` text, so those are parsed from ``sqlite_master.sql``.
Unique indexes count as unique constraints, as Django builds
them either way depending on the path. Only the CHECKs Django writes for EnumField (``"col" IN (...)``) are read;
other CHECK constraints are not compared on SQLite.
"""

import re

from .objects import Catalog, Column, ForeignKey, Index, PrimaryKey, Table, Unique
from .types import normalise_sqlite_type

TABLES_SQL = "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
COLUMNS_SQL = """
SELECT m.name, p.name, p.type, p."notnull", p.pk
FROM sqlite_master m JOIN pragma_table_info(m.name) p
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid
"""
INDEXES_SQL = """
SELECT m.name, il.name, il."unique", il.origin, (SELECT sql FROM sqlite_master WHERE name = il.name)
FROM sqlite_master m JOIN pragma_index_list(m.name) il
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, il.name
"""
INDEX_KEYS_SQL = """
SELECT il.name, ii.name, ii."desc"
FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_xinfo(il.name) ii
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND ii.key = 1 ORDER BY il.name, ii.seqno
"""
FOREIGN_KEYS_SQL = """
SELECT m.name, fk.id, fk."table", fk."from", fk."to", fk.on_delete
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) fk
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, fk.id, fk.seq
"""

_NAMED_UNIQUE = re.compile(r'CONSTRAINT\s+"?(\w+)"?\s+UNIQUE\s*\(([^)]*)\)', re.IGNORECASE)
_IN_CHECK = re.compile(r'"(\w+)"[^,]*?CHECK\s*\(\s*"\1"\s+IN\s*\(([^)]*)\)\s*\)', re.IGNORECASE)
_PREDICATE = re.compile(r"\bWHERE\b(.*)$", re.IGNORECASE | re.DOTALL)


def _names(text):
    return tuple(part.strip().strip('"') for part in text.split(","))


def read(connection):
    catalog = Catalog(vendor="sqlite")
    with connection.cursor() as cursor:
        cursor.execute(TABLES_SQL)
        create_sql = dict(cursor.fetchall())
        catalog.tables = {name: Table(name) for name in create_sql}

        cursor.execute(COLUMNS_SQL)
        pk_columns = {}
        for table_name, column, type_name, notnull, pk_position in cursor.fetchall():
            allowed = {m[0]: tuple(v.strip().strip("'") for v in m[1].split(",")) for m in _IN_CHECK.findall(create_sql[table_name] or "")}
            # SQLite lets a primary key column hold NULL unless it says NOT NULL;
            # Django always says it, so report what is declared.
            catalog.tables[table_name].columns.append(
                Column(column, normalise_sqlite_type(type_name), not notnull, allowed.get(column))
            )
            if pk_position:
                pk_columns.setdefault(table_name, []).append((pk_position, column))
        for table_name, positions in pk_columns.items():
            catalog.tables[table_name].primary_key = PrimaryKey(None, tuple(c for _, c in sorted(positions)))

        cursor.execute(INDEX_KEYS_SQL)
        keys = {}
        for index_name, column, descending in cursor.fetchall():
            keys.setdefault(index_name, []).append(f"{column} DESC" if descending else column)

        cursor.execute(INDEXES_SQL)
        for table_name, name, unique, origin, index_sql in cursor.fetchall():
            table = catalog.tables[table_name]
            if origin == "pk":
                continue
            if origin == "u":
                named = {_names(cols): cname for cname, cols in _NAMED_UNIQUE.findall(create_sql[table_name] or "")}
                columns = tuple(keys.get(name, ()))
                table.uniques.append(Unique(named.get(columns), columns))
                continue
            predicate = _PREDICATE.search(index_sql or "")
            if unique and not predicate:
                # Django builds unique_together and added UniqueConstraints
                # as CREATE UNIQUE INDEX on SQLite: the same promise.
                table.uniques.append(Unique(name, tuple(keys.get(name, ()))))
                continue
            table.indexes.append(
                Index(name, tuple(keys.get(name, ())), bool(unique), None, predicate.group(1).strip() if predicate else None)
            )

        cursor.execute(FOREIGN_KEYS_SQL)
        grouped = {}
        for table_name, fk_id, target, column, target_column, on_delete in cursor.fetchall():
            entry = grouped.setdefault((table_name, fk_id), [target, [], [], on_delete])
            entry[1].append(column)
            entry[2].append(target_column)
        for (table_name, _), (target, columns, target_columns, on_delete) in grouped.items():
            catalog.tables[table_name].foreign_keys.append(
                ForeignKey(None, tuple(columns), target, tuple(target_columns), on_delete, None, None)
            )
    return catalog
