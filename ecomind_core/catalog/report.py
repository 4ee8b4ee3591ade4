"""Findings as people and machines read them."""

import json

from .findings import ERROR

DATABASE_WIDE = "(database and migrations)"


def counts(findings):
    errors = sum(1 for f in findings if f.severity == ERROR)
    return errors, len(findings) - errors


def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(findings, target):
    """A report grouped by table, database-wide findings first."""
    errors, warnings = counts(findings)
    if not findings:
        return f"{target}: the schema matches the models and migrations.\n"
    lines = [f"{target}: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}."]
    groups = {}
    for finding in findings:
        groups.setdefault(finding.table or DATABASE_WIDE, []).append(finding)
    for group in sorted(groups, key=lambda g: (g != DATABASE_WIDE, g)):
        lines.append("")
        lines.append(group)
        for f in groups[group]:
            lines.append(f"  {f.severity.upper():7} {f.kind}: {f.object}")
            lines.append(f"          expected {f.expected}; found {f.actual}")
            lines.append(f"          fix: {f.hint}")
    return "\n".join(lines) + "\n"


def render_json(findings):
    fields = ("kind", "object", "expected", "actual", "severity", "hint", "table")
    return json.dumps([{k: f.as_dict()[k] for k in fields} for f in findings], indent=2, default=str) + "\n"
