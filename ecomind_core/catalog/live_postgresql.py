"""Read a PostgreSQL catalog: a fixed number of queries, whatever else the database holds.

Modelled on ``django/db/backends/postgresql/introspection.py``, but reading
every expected table at once instead of one table at a time, and only those:
the cost of a check is the same beside 8 or 8,000 unrelated tables (their
names alone are listed, for the report). One schema is read, named by the
connection (``DATABASE_SCHEMA``), whatever ``search_path`` resolves to. Only
the catalog is read: no table data, no writes, no privileges needed.
"""

import json
import re

from .catalog_columns import skipped
from .objects import (
    Catalog, Check, Column, Enum, Exclusion, ForeignKey, Function, Index, Policy, PrimaryKey, Publication, Rule,
    Setting, Table, Trigger, Unique, normalise_space, normalise_sql,
)
from .types import normalise_postgres_type

ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
MATCH = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}
ENABLED = {"O": "origin", "D": "disabled", "R": "replica", "A": "always"}
IDENTITY = {"a": "always", "d": "by default", "": ""}
#: The settings whose value in this very session is reported too (the others matter for other roles' sessions).
SESSION_SETTINGS = ("session_replication_role",)
#: Which object kind a constraint of each pg_constraint.contype is.
CONSTRAINT_KINDS = {"p": PrimaryKey, "u": Unique, "f": ForeignKey, "c": Check, "x": Exclusion}


def _raw(*tables):
    """``(to_jsonb(alias) - %(skip_<name>)s)`` for ``(alias, name)`` pairs: the columns compared raw."""
    return ", ".join(f"to_jsonb({alias}) - %({name})s::text[]" for alias, name in tables)


def skip_params():
    """The query parameters naming, per kind and catalog table, the columns not taken raw (``RAW``)."""
    params = {
        "skip_table": skipped(Table, "pg_class"),
        "skip_column": skipped(Column, "pg_attribute"),
        "skip_default": skipped(Column, "pg_attrdef"),
        "skip_index": skipped(Index, "pg_index"),
        "skip_index_class": skipped(Index, "pg_class"),
        "skip_trigger": skipped(Trigger, "pg_trigger"),
        "skip_function": skipped(Function, "pg_proc"),
    }
    for contype, kind in CONSTRAINT_KINDS.items():
        params[f"skip_con_{contype}"] = skipped(kind, "pg_constraint")
        params[f"skip_conindex_{contype}"] = skipped(kind, "pg_index")
        params[f"skip_conclass_{contype}"] = skipped(kind, "pg_class")
    return params


def _by_contype(prefix):
    cases = " ".join(f"WHEN '{contype}' THEN %({prefix}_{contype})s::text[]" for contype in CONSTRAINT_KINDS)
    return f"CASE k.contype {cases} END"


_KEY_NAMES = """ARRAY(SELECT a.attname FROM generate_series(0, {x}.indnkeyatts - 1) g
             JOIN pg_attribute a ON a.attrelid = {x}.indrelid AND a.attnum = {x}.indkey[g] ORDER BY g)"""

# Every table of the schema by name (for the report; the plainest scan, as a shared
# database may hold thousands), then the properties of the expected ones, found by name.
TABLES_SQL = f"""
SELECT c.relname, NULL
FROM pg_class c
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s) AND c.relkind IN ('r', 'p')
UNION ALL
SELECT c.relname, jsonb_build_object(
    'persistence', c.relpersistence, 'row_security', c.relrowsecurity, 'forced_row_security', c.relforcerowsecurity,
    'owner', pg_get_userbyid(c.relowner), 'kind', c.relkind,
    'partitioning', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) ELSE '' END,
    'parents', ARRAY(
        SELECT p.relname || CASE WHEN i.inhdetachpending THEN ' (detach pending)' ELSE '' END
        FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid ORDER BY 1),
    'children', ARRAY(
        SELECT ch.relname FROM pg_inherits i JOIN pg_class ch ON ch.oid = i.inhrelid WHERE i.inhparent = c.oid ORDER BY 1),
    'access_method', (SELECT amname FROM pg_am WHERE oid = c.relam),
    'raw', {_raw(("c", "skip_table"))},
    -- What a publication must send for UPDATE and DELETE to be allowed (none: they fail).
    'replica_identity', CASE c.relreplident
        WHEN 'd' THEN (SELECT {_KEY_NAMES.format(x="x")} FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary)
        WHEN 'i' THEN (SELECT {_KEY_NAMES.format(x="x")} FROM pg_index x WHERE x.indrelid = c.oid AND x.indisreplident)
        WHEN 'f' THEN ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped)
    END,
    'publications', ARRAY(
        SELECT jsonb_build_object(
            'name', p.pubname, 'scope', s.scope, 'row_filter', s.row_filter, 'columns', s.columns,
            'actions', ARRAY_REMOVE(ARRAY[CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
                                          CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END],
                                    NULL))
        FROM pg_publication p
        CROSS JOIN LATERAL (
            SELECT 'FOR TABLE' AS scope, pg_get_expr(r.prqual, r.prrelid) AS row_filter,
                   ARRAY(SELECT a.attname FROM unnest(r.prattrs::int2[]) WITH ORDINALITY u(attnum, ord)
                         JOIN pg_attribute a ON a.attrelid = r.prrelid AND a.attnum = u.attnum ORDER BY u.ord) AS columns
            FROM pg_publication_rel r WHERE r.prrelid = c.oid AND r.prpubid = p.oid
            UNION ALL
            SELECT 'FOR TABLES IN SCHEMA ' || n.nspname, NULL, NULL
            FROM pg_publication_namespace pn WHERE pn.pnpubid = p.oid AND pn.pnnspid = c.relnamespace
            UNION ALL
            SELECT 'FOR ALL TABLES', NULL, NULL WHERE p.puballtables
        ) s
        ORDER BY p.pubname, s.scope)
)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s) AND c.relkind IN ('r', 'p')
"""

_EXPECTED_TABLES = """
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
{joins}
WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s) AND c.relkind IN ('r', 'p')
"""

COLUMNS_SQL = f"""
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,
       pg_get_expr(d.adbin, d.adrelid), a.attgenerated, a.attidentity,
       {_raw(("a", "skip_column"), ("d", "skip_default"))}
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
       (SELECT coalesce(bool_and(t.tgenabled = 'O'), true) FROM pg_trigger t WHERE t.tgconstraint = k.oid),
       {_NAMES.format(keys="k.confdelsetcols", rel="k.conrelid")},
       to_jsonb(k) - {_by_contype("skip_con")}, to_jsonb(x) - {_by_contype("skip_conindex")},
       to_jsonb(i) - {_by_contype("skip_conclass")}
""" + _EXPECTED_TABLES.format(joins="""
JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype IN ('p', 'f', 'u', 'c', 'x')
LEFT JOIN pg_class f ON f.oid = k.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace
-- The index behind a key or exclusion constraint (a foreign key's conindid is the referenced table's).
LEFT JOIN pg_index x ON x.indexrelid = k.conindid AND k.contype IN ('p', 'u', 'x')
LEFT JOIN pg_class i ON i.oid = x.indexrelid
""") + "ORDER BY c.relname, k.conname"

# Indexes that back a primary key, unique or exclusion constraint are
# reported as the constraint, not again as an index. Key order options are
# spelled as in CREATE INDEX, defaults left out (ASC NULLS LAST, DESC NULLS FIRST).
INDEXES_SQL = f"""
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
       ARRAY(SELECT CASE WHEN a.attnum IS NULL OR co.oid IS NULL OR co.oid = a.attcollation THEN NULL ELSE co.collname END
             FROM generate_series(0, x.indnkeyatts - 1) k
             LEFT JOIN pg_collation co ON co.oid = x.indcollation[k]
             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[k] AND x.indkey[k] > 0
             ORDER BY k),
       {_raw(("x", "skip_index"), ("i", "skip_index_class"))}
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
TRIGGERS_SQL = f"""
SELECT c.relname, t.tgname,
       CASE WHEN t.tgtype & 2 = 2 THEN 'BEFORE' WHEN t.tgtype & 64 = 64 THEN 'INSTEAD OF' ELSE 'AFTER' END || ' ' ||
       array_to_string(ARRAY(SELECT e FROM unnest(ARRAY[
           CASE WHEN t.tgtype & 8 = 8 THEN 'DELETE' END, CASE WHEN t.tgtype & 4 = 4 THEN 'INSERT' END,
           CASE WHEN t.tgtype & 32 = 32 THEN 'TRUNCATE' END, CASE WHEN t.tgtype & 16 = 16 THEN 'UPDATE' END]) e
           WHERE e IS NOT NULL), ' OR '),
       CASE WHEN t.tgtype & 1 = 1 THEN 'ROW' ELSE 'STATEMENT' END,
       t.tgenabled, pg_get_triggerdef(t.oid), pn.nspname || '.' || p.proname,
       {_raw(("t", "skip_trigger"))}
""" + _EXPECTED_TABLES.format(joins="""
JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace pn ON pn.oid = p.pronamespace
""") + "ORDER BY c.relname, t.tgname"

RULES_AND_POLICIES_SQL = """
SELECT 'rule', c.relname, r.rulename,
       pg_get_ruledef(r.oid) || CASE r.ev_enabled WHEN 'D' THEN ' (disabled)' WHEN 'R' THEN ' (fires on replicas only)'
                                                  WHEN 'A' THEN ' (fires always)' ELSE '' END
""" + _EXPECTED_TABLES.format(joins="JOIN pg_rewrite r ON r.ev_class = c.oid") + """
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

FUNCTIONS_SQL = f"""
SELECT n.nspname || '.' || p.proname, p.prosrc, l.lanname, {_raw(("p", "skip_function"))}
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname || '.' || p.proname = ANY(%(functions)s) AND p.pronargs <= 1
"""

# Where settings are made for sessions of this database: ALTER DATABASE ... SET,
# ALTER ROLE ... [IN DATABASE ...] SET (any login role: the worker's too), and this session.
SETTINGS_SQL = """
SELECT 'this session', name, setting FROM pg_settings WHERE name = ANY(%(session_settings)s)
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
  -- A role's settings apply to sessions that log in as it (not to members of it).
  AND (s.setrole = 0 OR r.rolcanlogin)
ORDER BY 1, 2
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


def _json(value):
    # Django's backend reads json and jsonb as text (its JSONField decodes them itself).
    return json.loads(value) if isinstance(value, str) else value


def _prefixed(**raw):
    """``{"pg_class.relkind": ...}`` from ``pg_class={"relkind": ...}`` (a NULL row: nothing)."""
    return {f"{table}.{column}": value for table, columns in raw.items()
            for column, value in (_json(columns) or {}).items()}


def read(connection, tables, functions=()):
    """The catalog of ``tables`` (and the functions named) in the connection's schema."""
    connection.check_schema_exists()
    schema = connection.schema_name
    params = {"schema": schema, "tables": sorted(tables), "functions": sorted(functions),
              "session_settings": list(SESSION_SETTINGS), **skip_params()}
    catalog = Catalog(vendor="postgresql", schema=schema)
    with connection.cursor() as cursor:
        def rows(query):
            cursor.execute(query, params)
            return cursor.fetchall()

        publications = _read_tables(catalog, rows(TABLES_SQL))
        _read_columns(catalog, rows(COLUMNS_SQL))
        _read_publications(catalog, publications)
        _read_constraints(catalog, rows(CONSTRAINTS_SQL))
        for (table_name, name, unique, method, predicate, keys, opclasses, include, collations, raw_index,
             raw_class) in rows(INDEXES_SQL):
            catalog.tables[table_name].indexes.append(Index(
                name, tuple(keys), unique, method, normalise_sql(predicate) or "", tuple(opclasses), tuple(include),
                tuple(collations), _prefixed(pg_index=raw_index, pg_class=raw_class),
            ))
        for table_name, name, fires, level, enabled, definition, function, raw in rows(TRIGGERS_SQL):
            condition = _WHEN.search(definition)
            catalog.tables[table_name].triggers.append(Trigger(
                name, fires, level, ENABLED[enabled], normalise_sql(condition[1]) if condition else "", function,
                _prefixed(pg_trigger=raw),
            ))
        for what, table_name, name, definition in rows(RULES_AND_POLICIES_SQL):
            objects = catalog.tables[table_name].rules if what == "rule" else catalog.tables[table_name].policies
            objects.append((Rule if what == "rule" else Policy)(name, normalise_space(definition)))
        catalog.enums = {name: Enum(name, tuple(labels)) for name, labels in rows(ENUMS_SQL)}
        catalog.functions = {
            name: Function(name, normalise_space(body), None, language, _prefixed(pg_proc=raw))
            for name, body, language, raw in rows(FUNCTIONS_SQL)
        }
        search_paths = _read_settings(catalog, rows(SETTINGS_SQL))
        params["schemas"] = _schemas_before(schema, search_paths)
        catalog.shadowing = [(f"{nsp}.{name}", name) for nsp, name in rows(SHADOWS_SQL)]
    return catalog


def _read_tables(catalog, rows):
    """The expected tables (and the others' names); returns each table's replica identity and publications."""
    publications, names = {}, []
    for name, details in rows:
        if details is None:
            names.append(name)
            continue
        found = _json(details)
        catalog.tables[name] = Table(
            name, persistence="unlogged" if found["persistence"] == "u" else "permanent",
            partitioning=found["partitioning"] or "", parents=tuple(found["parents"]), children=tuple(found["children"]),
            row_security=found["row_security"], forced_row_security=found["forced_row_security"], owner=found["owner"],
            kind=found["kind"], access_method=found["access_method"], catalog=_prefixed(pg_class=found["raw"]),
        )
        publications[name] = (tuple(found["replica_identity"] or ()), found["publications"])
    # A table's partitions and children are reported through it (``children``), not as tables nobody owns.
    children = {child for table in catalog.tables.values() for child in table.children}
    catalog.other_tables = sorted(set(names) - set(catalog.tables) - children)
    return publications


def _read_publications(catalog, publications):
    for table_name, (identity, published) in publications.items():
        table = catalog.tables[table_name]
        columns = [column.name for column in table.columns]
        for entry in map(_json, published):
            actions, row_filter, listed = tuple(entry["actions"]), entry["row_filter"] or "", tuple(entry["columns"] or ())
            table.publications.append(Publication(
                entry["name"], entry["scope"], actions, row_filter, listed,
                blocks_writes(actions, row_filter, listed, identity, columns),
            ))


_LITERAL = re.compile(r"'(?:[^']|'')*'")
_QUOTED = re.compile(r'"((?:[^"]|"")+)"')
_WORD = re.compile(r"\b([a-z_][a-z0-9_$]*)\b")


def filter_columns(row_filter, columns):
    """The table's columns a row filter (as PostgreSQL prints it) names."""
    text = _LITERAL.sub("''", row_filter)
    named = {m.replace('""', '"') for m in _QUOTED.findall(text)} | set(_WORD.findall(_QUOTED.sub("", text)))
    return [column for column in columns if column in named]


def blocks_writes(actions, row_filter, listed, identity, columns):
    """Why PostgreSQL refuses UPDATE and DELETE on a table while a publication publishes it ("" if it does not).

    ``actions`` are what the publication publishes, ``row_filter`` and
    ``listed`` its row filter and column list for the table, ``identity``
    the table's replica identity columns, ``columns`` all its columns.

    PostgreSQL's own rules (CheckCmdReplicaIdentity): a publication that
    publishes updates or deletes must be able to send the rows' replica
    identity, so the table needs one, a row filter may use only its
    columns, and a column list must include them all.
    """
    if not {"update", "delete"} & set(actions):
        return ""
    if not identity:
        return "the table has no replica identity: every UPDATE and DELETE fails (the worker's upserts too)"
    outside = [c for c in filter_columns(row_filter, columns) if c not in identity]
    if row_filter and outside:
        return (f"its row filter uses {', '.join(outside)}, outside the replica identity ({', '.join(identity)}): "
                "every UPDATE and DELETE fails (the worker's upserts too)")
    missing = [c for c in identity if c not in listed]
    if listed and missing:
        return (f"its column list leaves out {', '.join(missing)} of the replica identity: every UPDATE and DELETE "
                "fails (the worker's upserts too)")
    return ""


def _read_columns(catalog, rows):
    for table_name, column, type_name, nullable, collation, default, generated, identity, raw, raw_default in rows:
        catalog.tables[table_name].columns.append(Column(
            column, normalise_postgres_type(type_name), nullable, None, collation or "",
            "" if generated else normalise_sql(default) or "",
            f"stored ({normalise_sql(default)})" if generated else "", IDENTITY[identity],
            _prefixed(pg_attribute=raw, pg_attrdef=raw_default),
        ))


def _on_delete(action, set_columns):
    """``SET NULL (org_id)`` when the action names its columns (PostgreSQL 15)."""
    return f"{ACTIONS[action]} ({', '.join(set_columns)})" if set_columns else ACTIONS[action]


def _read_constraints(catalog, rows):
    for (table_name, name, kind, columns, target, target_schema, target_columns, on_delete, on_update, match,
         deferrable, deferred, validated, definition, nulls_distinct, include, enforced, delete_columns, raw,
         raw_index, raw_class) in rows:
        table = catalog.tables[table_name]
        raw = _prefixed(pg_constraint=raw, pg_index=raw_index, pg_class=raw_class)
        if kind == "p":
            table.primary_key.append(PrimaryKey(name, tuple(columns), deferrable, tuple(include), raw))
        elif kind == "f":
            table.foreign_keys.append(ForeignKey(
                name, tuple(columns), target, tuple(target_columns), _on_delete(on_delete, delete_columns),
                ACTIONS[on_update], deferrable, deferred, validated, target_schema, MATCH[match], enforced, raw,
            ))
        elif kind == "u":
            table.uniques.append(Unique(name, tuple(columns), deferrable, nulls_distinct, tuple(include), raw))
        elif kind == "x":
            table.exclusions.append(Exclusion(name, definition))
        else:
            table.checks.append(Check(name, _check_condition(definition), validated, raw))


def _read_settings(catalog, rows):
    """Record the settings made for sessions; return the search paths set for them (source -> value)."""
    search_paths = {}
    for source, name, value in rows:
        if name.lower() == "search_path":
            search_paths[source] = value
        else:
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
