"""Read a PostgreSQL catalog: five queries, however many tables there are.

Modelled on ``django/db/backends/postgresql/introspection.py``, but reading
every table of the current schema at once instead of one table at a time,
so a health check costs the same on a database with 8 or 800 tables. Only
``pg_catalog`` is read: no table data, no writes, no privileges needed.
"""

from .objects import Catalog, Check, Column, ForeignKey, Index, PrimaryKey, Table, Trigger, Unique
from .types import normalise_postgres_type

ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum
"""

CONSTRAINTS_SQL = """
SELECT c.relname, k.conname, k.contype,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord),
       f.relname,
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.ord),
       k.confdeltype, k.condeferrable, k.condeferred, pg_get_constraintdef(k.oid),
       k.confupdtype, k.convalidated,
       coalesce((SELECT NOT i.indnullsnotdistinct FROM pg_index i WHERE i.indexrelid = k.conindid), true)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class f ON f.oid = k.confrelid
WHERE n.nspname = current_schema() AND k.contype IN ('p', 'f', 'u', 'c', 'x')
ORDER BY c.relname, k.conname
"""

# Indexes that back a primary key, unique or exclusion constraint are
# reported as the constraint, not again as an index. Key order options are
# spelled as in CREATE INDEX, defaults left out (ASC NULLS LAST, DESC NULLS FIRST).
INDEXES_SQL = """
SELECT t.relname, i.relname, x.indisunique, am.amname, pg_get_expr(x.indpred, x.indrelid),
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k + 1, true)
                    || CASE x.indoption[k] & 3 WHEN 1 THEN ' DESC NULLS LAST' WHEN 2 THEN ' NULLS FIRST'
                                               WHEN 3 THEN ' DESC' ELSE '' END
             FROM generate_series(0, x.indnkeyatts - 1) k ORDER BY k),
       ARRAY(SELECT CASE WHEN o.opcdefault THEN NULL ELSE o.opcname END
             FROM generate_series(0, x.indnkeyatts - 1) k
             JOIN pg_opclass o ON o.oid = x.indclass[k] ORDER BY k),
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k + 1, true)
             FROM generate_series(x.indnkeyatts, x.indnatts - 1) k ORDER BY k),
       x.indisvalid,
       ARRAY(SELECT CASE WHEN a.attnum IS NULL OR co.oid IS NULL OR co.oid = a.attcollation THEN NULL ELSE co.collname END
             FROM generate_series(0, x.indnkeyatts - 1) k
             LEFT JOIN pg_collation co ON co.oid = x.indcollation[k]
             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[k] AND x.indkey[k] > 0
             ORDER BY k)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE n.nspname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x'))
ORDER BY t.relname, i.relname
"""

# tgtype bits: 2 BEFORE, 64 INSTEAD OF (else AFTER); 4 INSERT, 8 DELETE, 16 UPDATE, 32 TRUNCATE.
TRIGGERS_SQL = """
SELECT c.relname, t.tgname,
       CASE WHEN t.tgtype & 2 = 2 THEN 'BEFORE' WHEN t.tgtype & 64 = 64 THEN 'INSTEAD OF' ELSE 'AFTER' END || ' ' ||
       array_to_string(ARRAY(SELECT e FROM unnest(ARRAY[
           CASE WHEN t.tgtype & 8 = 8 THEN 'DELETE' END, CASE WHEN t.tgtype & 4 = 4 THEN 'INSERT' END,
           CASE WHEN t.tgtype & 32 = 32 THEN 'TRUNCATE' END, CASE WHEN t.tgtype & 16 = 16 THEN 'UPDATE' END]) e
           WHERE e IS NOT NULL), ' OR '),
       t.tgenabled <> 'D'
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND NOT t.tgisinternal
ORDER BY c.relname, t.tgname
"""

ENUMS_SQL = """
SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE n.nspname = current_schema()
GROUP BY t.typname
"""


def read(connection):
    catalog = Catalog(vendor="postgresql")
    with connection.cursor() as cursor:
        cursor.execute(COLUMNS_SQL)
        for table_name, column, type_name, nullable, collation in cursor.fetchall():
            table = catalog.tables.setdefault(table_name, Table(table_name))
            if column is not None:
                table.columns.append(Column(column, normalise_postgres_type(type_name), nullable, None, collation))

        cursor.execute(CONSTRAINTS_SQL)
        for (table_name, name, kind, columns, target, target_columns, on_delete, deferrable, deferred, definition,
             on_update, validated, nulls_distinct) in cursor.fetchall():
            table = catalog.tables[table_name]
            if kind == "p":
                table.primary_key = PrimaryKey(name, tuple(columns), deferrable)
            elif kind == "f":
                table.foreign_keys.append(ForeignKey(
                    name, tuple(columns), target, tuple(target_columns), ON_DELETE[on_delete], deferrable, deferred,
                    ON_DELETE[on_update], validated,
                ))
            elif kind == "u":
                table.uniques.append(Unique(name, tuple(columns), deferrable, nulls_distinct))
            elif kind == "x":
                table.exclusions.append(Check(name, definition, validated))
            else:
                table.checks.append(Check(name, definition, validated))

        cursor.execute(INDEXES_SQL)
        for table_name, name, unique, method, predicate, keys, opclasses, include, valid, collations in cursor.fetchall():
            catalog.tables[table_name].indexes.append(
                Index(name, tuple(keys), unique, method, predicate, tuple(opclasses), tuple(include), valid, tuple(collations))
            )

        cursor.execute(TRIGGERS_SQL)
        for table_name, name, fires, enabled in cursor.fetchall():
            catalog.tables[table_name].triggers.append(Trigger(name, fires, enabled))

        cursor.execute(ENUMS_SQL)
        catalog.enums = {name: tuple(labels) for name, labels in cursor.fetchall()}
    return catalog
