"""Spell column types one way, so Django's ``db_type`` and the catalog agree.

PostgreSQL's ``format_type`` says ``character varying(20)`` where Django says
``varchar(20)``; both are normalised to ``format_type``'s spelling.
"""

import re

_POSTGRES_ALIASES = {
    "varchar": "character varying",
    "char": "character",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "time": "time without time zone",
    "timetz": "time with time zone",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "serial": "integer",
    "bigserial": "bigint",
    "smallserial": "smallint",
    "float8": "double precision",
    "float4": "real",
    "bool": "boolean",
    "decimal": "numeric",
}
_WITH_ARGS = re.compile(r"^(?P<base>[a-z ]+?)\s*\((?P<args>[^)]*)\)(?P<rest>.*)$")


def normalise_postgres_type(type_name):
    text = " ".join(type_name.replace('"', "").lower().split())
    match = _WITH_ARGS.match(text)
    if match:
        args = ",".join(arg.strip() for arg in match["args"].split(","))
        rest = match["rest"].strip()
        if rest:  # format_type's own spelling: timestamp(3) without time zone
            return f"{match['base']}({args}) {rest}"
        return f"{_POSTGRES_ALIASES.get(match['base'], match['base'])}({args})"
    return _POSTGRES_ALIASES.get(text, text)


def normalise_sqlite_type(type_name):
    # SQLite keeps the declared type as written: compare it case-insensitively.
    return " ".join(type_name.lower().split())


def normalise(vendor, type_name):
    if vendor == "postgresql":
        return normalise_postgres_type(type_name)
    return normalise_sqlite_type(type_name)
