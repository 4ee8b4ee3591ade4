"""The one allow-list: what PostgreSQL records that ``verify_schema`` and ``baseline`` do not compare, and why.

The rule is "everything, except this list": every column of the catalog
tables an owned object is made of (``catalog_columns.CATALOG_TABLES``) is
either compared (``objects.py`` says how, ``postgres_defaults.py`` gives the
expected value of those the models do not describe) or listed here with the
reason it cannot change what a read or a write returns. A column on neither
list fails ``tests/test_catalog_coverage.py`` and, on a server that has one,
is an error (``catalog_column_unreviewed``): a PostgreSQL upgrade that adds a
catalog column is decided on, not ignored.

Adding an entry needs a reason a reviewer can check: "it changes how fast
or how big, or who may, never what rows a statement reads or writes, nor
whether it succeeds" (docs/verify_schema.md).
"""

#: Reasons shared by several entries.
IDENTITY = "an object identifier: differs between any two databases; objects are matched by name"
STATISTICS = "planner statistics, rewritten by VACUUM and ANALYZE: how fast, never what a query returns"
STORAGE = "how values are stored on disk: size and speed only"
GRANTS = ("privileges: who may read or write, not what a read or write does; the operator's (docs/verify_schema.md); "
          "the append-only trigger does not stop TRUNCATE: don't grant it")
DERIVED = "derived from what is compared: {}"

ALLOWED = {
    "pg_class": {
        "oid": IDENTITY,
        "reltype": IDENTITY + " (the row type PostgreSQL makes with every table)",
        "relfilenode": IDENTITY + " (the file on disk: changes with every rewrite)",
        "reltoastrelid": IDENTITY + " (the table's TOAST table, made and rewritten by PostgreSQL)",
        "reltablespace": STORAGE + " (which tablespace holds the files)",
        "relpages": STATISTICS,
        "reltuples": STATISTICS,
        "relallvisible": STATISTICS,
        "relhasindex": DERIVED.format("the indexes themselves"),
        "relnatts": DERIVED.format("the columns (it also counts dropped ones)"),
        "relchecks": DERIVED.format("the CHECK constraints themselves"),
        "relhasrules": DERIVED.format("the rules themselves (none is expected)"),
        "relhastriggers": DERIVED.format("the triggers themselves, and the foreign keys' internal ones"),
        "relhassubclass": DERIVED.format("the table's children (pg_inherits); PostgreSQL clears it lazily"),
        "relrewrite": IDENTITY + " (set only while a rewrite is under way)",
        "relfrozenxid": "a transaction id for VACUUM's wraparound bookkeeping",
        "relminmxid": "a multixact id for VACUUM's wraparound bookkeeping",
        "relacl": GRANTS,
        "reloptions": ("storage parameters: fillfactor, autovacuum and toast.* settings, parallel_workers, "
                       "deduplicate_items, ...: how fast or how big, never what a statement returns"),
    },
    "pg_attribute": {
        "attnum": ("the column's position: no client relies on it (every one names its columns) and PostgreSQL "
                   "cannot move a column without a rebuild (docs/verify_schema.md)"),
        "attstattarget": "the statistics target (ALTER COLUMN ... SET STATISTICS): " + STATISTICS,
        "attlen": DERIVED.format("the column's type"),
        "attbyval": DERIVED.format("the column's type"),
        "attalign": DERIVED.format("the column's type"),
        "attndims": "declared array dimensions, which PostgreSQL does not enforce (the type is compared)",
        "attcacheoff": "always -1 on disk: a cache of the server's memory",
        "attstorage": "SET STORAGE: " + STORAGE,
        "attcompression": "SET COMPRESSION: " + STORAGE,
        "atthasdef": DERIVED.format("the default itself (pg_attrdef.adbin)"),
        "atthasmissing": "rows older than the column read its default from here: data, not schema",
        "attmissingval": "rows older than the column read its default from here: data, not schema",
        "attislocal": DERIVED.format("the table's parents (pg_inherits), none expected"),
        "attinhcount": DERIVED.format("the table's parents (pg_inherits), none expected"),
        "attacl": GRANTS,
        "attoptions": "n_distinct and n_distinct_inherited: " + STATISTICS,
    },
    "pg_attrdef": {
        "oid": IDENTITY,
    },
    "pg_index": {
        "indexrelid": IDENTITY + " (the index; matched by name)",
        "indisclustered": "the index CLUSTER last used: row order on disk, which no query may rely on",
        "indcheckxmin": "whether old snapshots may use the index yet: how fast, for a while after it was built",
        "indisreplident": DERIVED.format("pg_class.relreplident (REPLICA IDENTITY USING INDEX names this index)"),
    },
    "pg_constraint": {
        "oid": IDENTITY,
        "connamespace": DERIVED.format("the table's schema"),
        "contypid": "the domain of a domain constraint: a table's constraints have none",
        "conindid": IDENTITY + " (the index behind it, compared through the constraint)",
        "conislocal": DERIVED.format("the table's parents (pg_inherits), none expected"),
        "coninhcount": DERIVED.format("the table's parents (pg_inherits), none expected"),
        "connoinherit": "whether a child table would inherit the CHECK: the table's children are compared (none expected)",
        "conpfeqop": DERIVED.format("the key columns' types (a foreign key's equality operators)"),
        "conppeqop": DERIVED.format("the key columns' types (a foreign key's equality operators)"),
        "conffeqop": DERIVED.format("the key columns' types (a foreign key's equality operators)"),
    },
    "pg_trigger": {
        "oid": IDENTITY,
    },
    "pg_rewrite": {
        "oid": IDENTITY,
    },
    "pg_policy": {
        "oid": IDENTITY,
    },
    "pg_proc": {
        "oid": IDENTITY,
        "proowner": GRANTS + " (the function's owner)",
        "proacl": GRANTS,
        "procost": "the planner's cost estimate: how fast",
        "prorows": "the planner's row estimate: how fast",
        "prosupport": "a planner support function: how fast",
        "provolatile": "a planner hint; PostgreSQL ignores it for trigger functions",
        "proparallel": "a planner hint about parallel query; PostgreSQL ignores it for trigger functions",
        "proleakproof": "a planner hint for security barrier views; PostgreSQL ignores it for trigger functions",
        "pronargs": "the signature: PostgreSQL checks it when the trigger is created; the function is matched by name",
        "pronargdefaults": "the signature: PostgreSQL checks it when the trigger is created; the function is matched by name",
        "prorettype": "the signature: PostgreSQL checks it when the trigger is created; the function is matched by name",
        "proargtypes": "the signature: PostgreSQL checks it when the trigger is created; the function is matched by name",
        "proallargtypes": "the signature: PostgreSQL checks it when the trigger is created; the function is matched by name",
        "proargmodes": "the signature: PostgreSQL checks it when the trigger is created; the function is matched by name",
        "proargnames": "argument names: calls by position are unaffected; the body, which uses them, is compared",
        "proargdefaults": "the signature: PostgreSQL checks it when the trigger is created; the function is matched by name",
        "provariadic": "the signature: PostgreSQL checks it when the trigger is created; the function is matched by name",
    },
    "pg_enum": {
        "oid": IDENTITY,
    },
    "pg_inherits": {
        "inhseqno": "the order of several parents: it decides column order only (not compared, see pg_attribute.attnum)",
    },
    "pg_partitioned_table": {
        "partdefid": DERIVED.format("the partitions themselves (a default partition's bound says DEFAULT)"),
    },
    "pg_publication": {
        "oid": IDENTITY,
        "pubowner": GRANTS + " (the publication's owner)",
        "pubviaroot": "which table's name a partition's changes are published under: the subscriber's concern",
    },
    "pg_publication_rel": {
        "oid": IDENTITY,
    },
    "pg_publication_namespace": {
        "oid": IDENTITY,
    },
    "pg_db_role_setting": {},
}

#: Catalog objects that are not read at all, and why (docs/verify_schema.md).
NOT_READ = {
    "comments (pg_description)": "words for people: no statement reads them",
    "extended statistics (pg_statistic_ext)": STATISTICS,
    "column statistics (pg_statistic)": STATISTICS,
    "security labels (pg_seclabel)": "used only by a label provider such as sepgsql, which this project does not run",
    "default privileges (pg_default_acl)": GRANTS,
    "sequences": "no table here uses one (identity columns are compared as such)",
}

#: Settings (``ALTER DATABASE`` / ``ALTER ROLE ... SET``) that change how fast, or what is logged, never what a
#: statement returns nor whether it succeeds. Settings neither here nor in ``database_settings`` are warnings.
ALLOWED_SETTINGS = {
    "application_name": "a label in pg_stat_activity and the logs",
    "work_mem": "memory per sort or hash: how fast",
    "maintenance_work_mem": "memory for VACUUM and CREATE INDEX: how fast",
    "hash_mem_multiplier": "memory per hash: how fast",
    "temp_buffers": "memory for temporary tables: how fast",
    "effective_cache_size": "a planner estimate: how fast",
    "effective_io_concurrency": "prefetching: how fast",
    "maintenance_io_concurrency": "prefetching: how fast",
    "random_page_cost": "a planner cost: how fast",
    "seq_page_cost": "a planner cost: how fast",
    "cpu_tuple_cost": "a planner cost: how fast",
    "cpu_index_tuple_cost": "a planner cost: how fast",
    "cpu_operator_cost": "a planner cost: how fast",
    "parallel_setup_cost": "a planner cost: how fast",
    "parallel_tuple_cost": "a planner cost: how fast",
    "max_parallel_workers_per_gather": "parallel query: how fast",
    "max_parallel_maintenance_workers": "parallel index builds: how fast",
    "default_statistics_target": STATISTICS,
    "from_collapse_limit": "a planner limit: how fast",
    "join_collapse_limit": "a planner limit: how fast",
    "geqo": "a planner strategy: how fast",
    "geqo_threshold": "a planner strategy: how fast",
    "jit": "compiling expressions: how fast",
    "plan_cache_mode": "prepared statements' plans: how fast",
    "enable_seqscan": "a planner switch: how fast",
    "enable_indexscan": "a planner switch: how fast",
    "enable_bitmapscan": "a planner switch: how fast",
    "enable_hashjoin": "a planner switch: how fast",
    "enable_mergejoin": "a planner switch: how fast",
    "enable_nestloop": "a planner switch: how fast",
    "enable_partitionwise_join": "a planner switch: how fast",
    "enable_partitionwise_aggregate": "a planner switch: how fast",
    "log_statement": "what the server logs",
    "log_min_duration_statement": "what the server logs",
    "log_min_messages": "what the server logs",
    "log_lock_waits": "what the server logs",
    "log_temp_files": "what the server logs",
    "client_min_messages": "which notices a client is sent",
    "track_io_timing": "statistics collection",
    "track_functions": "statistics collection",
    "lc_messages": "the language of server messages",
    "auto_explain.log_min_duration": "what the server logs",
    "pg_stat_statements.track": "statistics collection",
}
