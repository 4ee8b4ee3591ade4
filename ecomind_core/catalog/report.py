"""Findings as people and machines read them."""

import json

from .findings import ERROR, UNOWNED_KINDS

DATABASE_WIDE = "(database and migrations)"
#: Verbosity from which a text report lists unowned objects one by one.
LIST_UNOWNED_FROM = 2


def counts(findings):
    errors = sum(1 for f in findings if f.severity == ERROR)
    return errors, len(findings) - errors


def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def _unowned_summary(unowned):
    tables = sum(1 for f in unowned if f.kind == "table_unowned")
    enums = len(unowned) - tables
    parts = [_plural(tables, "table")] if tables else []
    parts += [_plural(enums, "enum type")] if enums else []
    return (f"Not described by any model, left untouched: {' and '.join(parts)} "
            f"(`verify_schema -v {LIST_UNOWNED_FROM}` or `--format json` lists them).")


def render_text(findings, target, verbosity=1):
    """A report grouped by table, database-wide findings first.

    Objects no model describes (a legacy bookkeeping table, another
    application's tables) are one summary line unless ``verbosity`` asks
    for the list: a database shared with other software would otherwise
    bury the findings that matter.
    """
    unowned = [f for f in findings if f.kind in UNOWNED_KINDS] if verbosity < LIST_UNOWNED_FROM else []
    listed = [f for f in findings if f not in unowned]
    errors, warnings = counts(listed)
    if not listed:
        lines = [f"{target}: the schema matches the models and migrations."]
    else:
        lines = [f"{target}: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}."]
    if unowned:
        lines.append(_unowned_summary(unowned))
    groups = {}
    for finding in listed:
        groups.setdefault(finding.table or DATABASE_WIDE, []).append(finding)
    for group in sorted(groups, key=lambda g: (g != DATABASE_WIDE, g)):
        lines.append("")
        lines.append(group)
        for f in groups[group]:
            lines.append(f"  {f.severity.upper():7} {f.kind}: {f.object}")
            lines.append(f"          expected {f.expected}; found {f.actual}")
            if f.catalog_column:
                lines.append(f"          catalog: {f.catalog_column}")
            lines.append(f"          fix: {f.hint}")
    return "\n".join(lines) + "\n"


def render_json(findings):
    fields = ("kind", "object", "expected", "actual", "severity", "hint", "table", "catalog_column")
    return json.dumps([{k: f.as_dict()[k] for k in fields} for f in findings], indent=2, default=str) + "\n"
