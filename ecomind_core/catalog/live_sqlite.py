"""Read a SQLite catalog with pragma table-valued functions: five queries in all.

Only the expected tables are read in full (the others are listed by name),
so a check costs the same beside any number of unrelated tables. SQLite
keeps constraint names and CHECK clauses only in each table's ``CREATE
TABLE`` text, so those are parsed from ``sqlite_master.sql``. Unique indexes
count as unique constraints, as Django builds them either way depending on
the path. Only the CHECKs Django writes for EnumField (``"col" IN (...)``)
are read; other CHECK constraints, defaults, triggers and everything
PostgreSQL-only are not compared on SQLite (their attributes stay None:
unknown).
"""

import re

from .objects import Catalog, Column, ForeignKey, Index, PrimaryKey, Table, Unique, normalise_sql
from .types import normalise_sqlite_type

_EXPECTED = "m.type = 'table' AND m.name IN (SELECT value FROM json_each(%s))"
TABLES_SQL = "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
COLUMNS_SQL = f"""
SELECT m.name, p.name, p.type, p."notnull", p.pk
FROM sqlite_master m JOIN pragma_table_info(m.name) p
WHERE {_EXPECTED} ORDER BY m.name, p.cid
"""
INDEXES_SQL = f"""
SELECT m.name, il.name, il."unique", il.origin, (SELECT sql FROM sqlite_master WHERE name = il.name)
FROM sqlite_master m JOIN pragma_index_list(m.name) il
WHERE {_EXPECTED} ORDER BY m.name, il.name
"""
INDEX_KEYS_SQL = f"""
SELECT il.name, ii.name, ii."desc"
FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_xinfo(il.name) ii
WHERE {_EXPECTED} AND ii.key = 1 ORDER BY il.name, ii.seqno
"""
FOREIGN_KEYS_SQL = f"""
SELECT m.name, fk.id, fk."table", fk."from", fk."to", fk.on_delete
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) fk
WHERE {_EXPECTED} ORDER BY m.name, fk.id, fk.seq
"""

_NAMED_UNIQUE = re.compile(r'CONSTRAINT\s+"?(\w+)"?\s+UNIQUE\s*\(([^)]*)\)', re.IGNORECASE)
_IN_CHECK = re.compile(r'"(\w+)"[^,]*?CHECK\s*\(\s*"\1"\s+IN\s*\(([^)]*)\)\s*\)', re.IGNORECASE)
_PREDICATE = re.compile(r"\bWHERE\b(.*)$", re.IGNORECASE | re.DOTALL)

#: What SQLite cannot tell, left unknown so that it is not compared.
_UNKNOWN_TABLE = dict(persistence=None, partitioning=None, parents=None, children=None, row_security=None,
                      forced_row_security=None, kind=None, access_method=None)
_UNKNOWN_COLUMN = dict(collation=None, default=None, generated=None, identity=None)


def _names(text):
    return tuple(part.strip().strip('"') for part in text.split(","))


def read(connection, tables, functions=()):
    """The catalog of ``tables`` (``functions`` do not exist on SQLite)."""
    import json

    catalog = Catalog(vendor="sqlite")
    wanted = [json.dumps(sorted(tables))]
    with connection.cursor() as cursor:
        cursor.execute(TABLES_SQL)
        create_sql = {}
        for name, sql in cursor.fetchall():
            if name in tables:
                create_sql[name] = sql
                catalog.tables[name] = Table(name, **_UNKNOWN_TABLE)
            else:
                catalog.other_tables.append(name)

        cursor.execute(COLUMNS_SQL, wanted)
        pk_columns = {}
        for table_name, column, type_name, notnull, pk_position in cursor.fetchall():
            allowed = {m[0]: tuple(v.strip().strip("'") for v in m[1].split(",")) for m in _IN_CHECK.findall(create_sql[table_name] or "")}
            # SQLite lets a primary key column hold NULL unless it says NOT NULL;
            # Django always says it, so report what is declared.
            catalog.tables[table_name].columns.append(
                Column(column, normalise_sqlite_type(type_name), not notnull, allowed.get(column), **_UNKNOWN_COLUMN)
            )
            if pk_position:
                pk_columns.setdefault(table_name, []).append((pk_position, column))
        for table_name, positions in pk_columns.items():
            catalog.tables[table_name].primary_key.append(
                PrimaryKey(None, tuple(c for _, c in sorted(positions)), deferrable=None, include=None)
            )

        cursor.execute(INDEX_KEYS_SQL, wanted)
        keys = {}
        for index_name, column, descending in cursor.fetchall():
            keys.setdefault(index_name, []).append(f"{column} DESC" if descending else column)

        cursor.execute(INDEXES_SQL, wanted)
        for table_name, name, unique, origin, index_sql in cursor.fetchall():
            _add_index(catalog.tables[table_name], create_sql[table_name], name, unique, origin, index_sql, keys)

        cursor.execute(FOREIGN_KEYS_SQL, wanted)
        grouped = {}
        for table_name, fk_id, target, column, target_column, on_delete in cursor.fetchall():
            entry = grouped.setdefault((table_name, fk_id), [target, [], [], on_delete])
            entry[1].append(column)
            entry[2].append(target_column)
        for (table_name, _), (target, columns, target_columns, on_delete) in grouped.items():
            catalog.tables[table_name].foreign_keys.append(ForeignKey(
                None, tuple(columns), target, tuple(target_columns), on_delete, None, None, None, None, None, None, None,
            ))
    return catalog


def _add_index(table, create_sql, name, unique, origin, index_sql, keys):
    if origin == "pk":
        return
    columns = tuple(keys.get(name, ()))
    if origin == "u":
        named = {_names(cols): cname for cname, cols in _NAMED_UNIQUE.findall(create_sql or "")}
        table.uniques.append(Unique(named.get(columns), columns, None, None, None))
        return
    predicate = _PREDICATE.search(index_sql or "")
    if unique and not predicate:
        # Django builds unique_together and added UniqueConstraints
        # as CREATE UNIQUE INDEX on SQLite: the same promise.
        table.uniques.append(Unique(name, columns, None, None, None))
        return
    table.indexes.append(Index(
        name, columns, bool(unique), None, normalise_sql(predicate.group(1).strip()) if predicate else "",
        None, (), None,
    ))
