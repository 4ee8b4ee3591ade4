"""Read a PostgreSQL catalog: a fixed number of queries, whatever else the database holds.

Modelled on ``django/db/backends/postgresql/introspection.py``, but reading
every expected table at once instead of one table at a time, and only those:
the cost of a check is the same beside 8 or 8,000 unrelated tables (their
names alone are listed, for the report). One schema is read, named by the
connection (``DATABASE_SCHEMA``), whatever ``search_path`` resolves to. Only
the catalog is read: no table data, no writes, no privileges needed.
"""

import re

from .objects import (
    Catalog, Check, Column, Enum, Exclusion, ForeignKey, Function, Index, Policy, PrimaryKey, Rule, Setting, Table,
    Trigger, Unique, normalise_sql, normalise_space,
)
from .types import normalise_postgres_type

ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
MATCH = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}
ENABLED = {"O": "origin", "D": "disabled", "R": "replica", "A": "always"}
IDENTITY = {"a": "always", "d": "by default", "": ""}
#: The settings that switch triggers and foreign keys off for whoever they apply to.
TRIGGER_SETTINGS = ("session_replication_role",)

# Every table of the schema by name (for the report), and the properties of the expected ones.
TABLES_SQL = """
SELECT c.relname, c.relname = ANY(%(tables)s), c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
       pg_get_userbyid(c.relowner),
       CASE WHEN c.relkind = 'p' AND c.relname = ANY(%(tables)s) THEN pg_get_partkeydef(c.oid) ELSE '' END,
       CASE WHEN c.relname = ANY(%(tables)s) THEN ARRAY(
           SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid ORDER BY 1)
       END,
       CASE WHEN c.relname = ANY(%(tables)s) THEN ARRAY(
           SELECT ch.relname FROM pg_inherits i JOIN pg_class ch ON ch.oid = i.inhrelid WHERE i.inhparent = c.oid ORDER BY 1)
       END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
ORDER BY c.relname
"""

_EXPECTED_TABLES = """
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
{joins}
WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s) AND c.relkind IN ('r', 'p')
"""

COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,
       pg_get_expr(d.adbin, d.adrelid), a.attgenerated, a.attidentity
""" + _EXPECTED_TABLES.format(joins="""
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
""") + "ORDER BY c.relname, a.attnum"

_NAMES = """ARRAY(SELECT a.attname FROM unnest({keys}) WITH ORDINALITY u(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = u.attnum ORDER BY u.ord)"""

CONSTRAINTS_SQL = f"""
SELECT c.relname, k.conname, k.contype, {_NAMES.format(keys="k.conkey", rel="k.conrelid")},
       f.relname, fn.nspname, {_NAMES.format(keys="k.confkey", rel="k.confrelid")},
       k.confdeltype, k.confupdtype, k.confmatchtype, k.condeferrable, k.condeferred, k.convalidated,
       pg_get_constraintdef(k.oid),
       coalesce(NOT x.indnullsnotdistinct, true),
       ARRAY(SELECT a.attname FROM generate_series(x.indnkeyatts, x.indnatts - 1) g
             JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[g] ORDER BY g),
       -- A foreign key is enforced by internal triggers on both tables: all must be enabled.
       (SELECT coalesce(bool_and(t.tgenabled = 'O'), true) FROM pg_trigger t WHERE t.tgconstraint = k.oid)
""" + _EXPECTED_TABLES.format(joins="""
JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype IN ('p', 'f', 'u', 'c', 'x')
LEFT JOIN pg_class f ON f.oid = k.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace
LEFT JOIN pg_index x ON x.indexrelid = k.conindid
""") + "ORDER BY c.relname, k.conname"

# Indexes that back a primary key, unique or exclusion constraint are
# reported as the constraint, not again as an index. Key order options are
# spelled as in CREATE INDEX, defaults left out (ASC NULLS LAST, DESC NULLS FIRST).
INDEXES_SQL = """
SELECT c.relname, i.relname, x.indisunique, am.amname, pg_get_expr(x.indpred, x.indrelid),
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
""" + _EXPECTED_TABLES.format(joins="""
JOIN pg_index x ON x.indrelid = c.oid
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_am am ON am.oid = i.relam
""") + """
  -- conrelid first: pg_constraint is indexed on it (not on conindid), so
  -- this costs the same beside any number of other tables' constraints.
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = x.indrelid AND k.conindid = x.indexrelid
                  AND k.contype IN ('p', 'u', 'x'))
ORDER BY c.relname, i.relname
"""

# tgtype bits: 1 ROW (else STATEMENT); 2 BEFORE, 64 INSTEAD OF (else AFTER);
# 4 INSERT, 8 DELETE, 16 UPDATE, 32 TRUNCATE.
TRIGGERS_SQL = """
SELECT c.relname, t.tgname,
       CASE WHEN t.tgtype & 2 = 2 THEN 'BEFORE' WHEN t.tgtype & 64 = 64 THEN 'INSTEAD OF' ELSE 'AFTER' END || ' ' ||
       array_to_string(ARRAY(SELECT e FROM unnest(ARRAY[
           CASE WHEN t.tgtype & 8 = 8 THEN 'DELETE' END, CASE WHEN t.tgtype & 4 = 4 THEN 'INSERT' END,
           CASE WHEN t.tgtype & 32 = 32 THEN 'TRUNCATE' END, CASE WHEN t.tgtype & 16 = 16 THEN 'UPDATE' END]) e
           WHERE e IS NOT NULL), ' OR '),
       CASE WHEN t.tgtype & 1 = 1 THEN 'ROW' ELSE 'STATEMENT' END,
       t.tgenabled, pg_get_triggerdef(t.oid), pn.nspname || '.' || p.proname
""" + _EXPECTED_TABLES.format(joins="""
JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace pn ON pn.oid = p.pronamespace
""") + "ORDER BY c.relname, t.tgname"

RULES_AND_POLICIES_SQL = """
SELECT 'rule', r.tablename, r.rulename, r.definition
FROM pg_rules r WHERE r.schemaname = %(schema)s AND r.tablename = ANY(%(tables)s)
UNION ALL
SELECT 'policy', p.tablename, p.policyname,
       concat_ws(' ', p.permissive, 'FOR', p.cmd, 'TO', array_to_string(p.roles, ', '),
                 'USING (' || p.qual || ')', 'WITH CHECK (' || p.with_check || ')')
FROM pg_policies p WHERE p.schemaname = %(schema)s AND p.tablename = ANY(%(tables)s)
ORDER BY 2, 3
"""

ENUMS_SQL = """
SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE n.nspname = %(schema)s
GROUP BY t.typname
"""

FUNCTIONS_SQL = """
SELECT n.nspname || '.' || p.proname, p.prosrc
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname || '.' || p.proname = ANY(%(functions)s) AND p.pronargs <= 1
"""

# Where settings are made for sessions of this database: the session itself,
# ALTER DATABASE ... SET, ALTER ROLE ... SET (any role: the worker's too).
SETTINGS_SQL = """
SELECT 'this session', name, setting FROM pg_settings WHERE name = ANY(%(names)s)
UNION ALL
-- The path this role's sessions start with (ours is then SET to the one schema: backend base.py).
SELECT 'this role', name, reset_val FROM pg_settings WHERE name = 'search_path'
UNION ALL
SELECT CASE WHEN s.setrole = 0 THEN 'database ' || current_database()
            WHEN s.setdatabase = 0 THEN 'role ' || r.rolname
            ELSE 'role ' || r.rolname || ' in database ' || current_database() END,
       split_part(cfg, '=', 1), substr(cfg, length(split_part(cfg, '=', 1)) + 2)
FROM pg_db_role_setting s
LEFT JOIN pg_roles r ON r.oid = s.setrole
CROSS JOIN LATERAL unnest(s.setconfig) cfg
WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
  AND split_part(cfg, '=', 1) = ANY(%(names)s || ARRAY['search_path'])
ORDER BY 1
"""

# Same-named tables in schemas a default search path puts before ours.
SHADOWS_SQL = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = ANY(%(tables)s) AND n.nspname <> %(schema)s
  AND n.nspname = ANY(array_replace(%(schemas)s::text[], '$user', current_user::text))
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY 1, 2
"""

_WHEN = re.compile(r"\bFOR EACH (?:ROW|STATEMENT) WHEN \((.*)\) EXECUTE ", re.DOTALL)


def _check_condition(definition):
    """``CHECK ((kwh >= 0)) NOT VALID`` -> the condition, normalised."""
    text = re.sub(r"\s+NOT VALID$", "", definition.strip())
    return normalise_sql(re.sub(r"^CHECK\s*", "", text))


def read(connection, tables, functions=()):
    """The catalog of ``tables`` (and the functions named) in the connection's schema."""
    connection.check_schema_exists()
    schema = connection.schema_name
    params = {"schema": schema, "tables": sorted(tables), "functions": sorted(functions),
              "names": list(TRIGGER_SETTINGS)}
    catalog = Catalog(vendor="postgresql", schema=schema)
    with connection.cursor() as cursor:
        def rows(query):
            cursor.execute(query, params)
            return cursor.fetchall()

        _read_tables(catalog, rows(TABLES_SQL))
        _read_columns(catalog, rows(COLUMNS_SQL))
        _read_constraints(catalog, rows(CONSTRAINTS_SQL))
        for table_name, name, unique, method, predicate, keys, opclasses, include, valid, collations in rows(INDEXES_SQL):
            catalog.tables[table_name].indexes.append(Index(
                name, tuple(keys), unique, method, normalise_sql(predicate) or "", tuple(opclasses), tuple(include), valid,
                tuple(collations),
            ))
        for table_name, name, fires, level, enabled, definition, function in rows(TRIGGERS_SQL):
            condition = _WHEN.search(definition)
            catalog.tables[table_name].triggers.append(Trigger(
                name, fires, level, ENABLED[enabled], normalise_sql(condition[1]) if condition else "", function,
            ))
        for what, table_name, name, definition in rows(RULES_AND_POLICIES_SQL):
            objects = catalog.tables[table_name].rules if what == "rule" else catalog.tables[table_name].policies
            objects.append((Rule if what == "rule" else Policy)(name, normalise_space(definition)))
        catalog.enums = {name: Enum(name, tuple(labels)) for name, labels in rows(ENUMS_SQL)}
        catalog.functions = {name: Function(name, normalise_space(body)) for name, body in rows(FUNCTIONS_SQL)}
        search_paths = _read_settings(catalog, rows(SETTINGS_SQL))
        params["schemas"] = _schemas_before(schema, search_paths)
        catalog.shadowing = [(f"{nsp}.{name}", name) for nsp, name in rows(SHADOWS_SQL)]
    return catalog


def _read_tables(catalog, rows):
    for name, expected, persistence, rls, forced, owner, partitioning, parents, children in rows:
        if not expected:
            catalog.other_tables.append(name)
            continue
        catalog.tables[name] = Table(
            name, persistence="unlogged" if persistence == "u" else "permanent", partitioning=partitioning or "",
            parents=tuple(parents), children=tuple(children), row_security=rls, forced_row_security=forced, owner=owner,
        )


def _read_columns(catalog, rows):
    for table_name, column, type_name, nullable, collation, default, generated, identity in rows:
        catalog.tables[table_name].columns.append(Column(
            column, normalise_postgres_type(type_name), nullable, None, collation or "",
            "" if generated else normalise_sql(default) or "",
            f"stored ({normalise_sql(default)})" if generated else "", IDENTITY[identity],
        ))


def _read_constraints(catalog, rows):
    for (table_name, name, kind, columns, target, target_schema, target_columns, on_delete, on_update, match,
         deferrable, deferred, validated, definition, nulls_distinct, include, enforced) in rows:
        table = catalog.tables[table_name]
        if kind == "p":
            table.primary_key.append(PrimaryKey(name, tuple(columns), deferrable, tuple(include)))
        elif kind == "f":
            table.foreign_keys.append(ForeignKey(
                name, tuple(columns), target, tuple(target_columns), ACTIONS[on_delete], ACTIONS[on_update],
                deferrable, deferred, validated, target_schema, MATCH[match], enforced,
            ))
        elif kind == "u":
            table.uniques.append(Unique(name, tuple(columns), deferrable, nulls_distinct, tuple(include)))
        elif kind == "x":
            table.exclusions.append(Exclusion(name, definition))
        else:
            table.checks.append(Check(name, _check_condition(definition), validated))


def _read_settings(catalog, rows):
    """Record trigger-disabling settings; return the search paths set for sessions (source -> value)."""
    search_paths = {}
    for source, name, value in rows:
        if name == "search_path":
            search_paths[source] = value
        elif value != "origin":
            catalog.settings.append(Setting(name, source, value))
    return search_paths


def _schemas_before(schema, search_paths):
    """Schemas that a session's default search path reaches before ``schema`` (``$user`` as such).

    Every path counts: this role's, and those a database or role setting
    gives other roles' sessions (the worker's role is not ours).
    """
    before = set()
    for path in search_paths.values():
        for entry in (part.strip().strip('"') for part in path.split(",")):
            if entry == schema:
                break
            before.add(entry)
    return sorted(before - {""})
