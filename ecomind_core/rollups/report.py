"""Divergent rows as people and machines read them."""

import json


def _value(value):
    return "NULL" if value is None else f"{value:.12g}" if isinstance(value, float) else str(value)


def _values(measures):
    return " ".join(f"{m}={_value(v)}" for m, v in measures.items())


def problem_lines(rows):
    """One line per problem: ``table date key=value ...: kind: expected ..., found ...``."""
    for row in rows:
        where = " ".join([row.table, row.date.isoformat(), *(f"{k}={v}" for k, v in row.key.items())])
        for p in row.problems:
            if row.found is None:
                yield f"{where}: {p.kind}: expected {_values(p.expected)}"
            elif row.expected is None:
                yield f"{where}: {p.kind}: found {_values(p.found)} with no events"
            else:
                yield f"{where}: {p.kind}: expected {_value(p.expected)}, found {_value(p.found)}"


def _span(result):
    return f"{result.days[0]} to {result.days[-1]}" if result.days else "nothing"


def render_text(result, target):
    """The verdict on one line, then each problem."""
    if not result.days:
        return f"{target}: no events and no daily rows in the period: nothing to check.\n"
    if result.clean:
        return f"{target}: the daily totals equal their events on all {len(result.days):,} days with data ({_span(result)}).\n"
    lines = [
        f"{target}: {len(result.divergent):,} divergent rows on {len(result.divergent_days):,} "
        f"of the {len(result.days):,} days with data ({_span(result)}).",
        *(f"  {line}" for line in problem_lines(result.divergent)),
    ]
    return "\n".join(lines) + "\n"


def render_json(result, target):
    return json.dumps({
        "database": target,
        "since": result.since, "until": result.until,
        "days_checked": len(result.days),
        "first_day": result.days[0] if result.days else None,
        "last_day": result.days[-1] if result.days else None,
        "verdict": result.verdict,
        "divergent_rows": [row.as_dict() for row in result.divergent],
    }, indent=2, default=str, allow_nan=False) + "\n"
