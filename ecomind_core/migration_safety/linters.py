"""Run django-migration-linter and squawk over a migration's SQL, operation by operation.

Both read the statements ``rendering.render`` produced. Their findings come
back as ``rules.Problem``, each naming the operation whose statement caused it.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from django_migration_linter.sql_analyser import PostgresqlAnalyser, analyse_sql_statements

from .rendering import PG_VERSION
from .rules import LINTER_EXCLUDED, SQUAWK_EXCLUDED, Problem

LINTER, SQUAWK = "django-migration-linter", "squawk"


class SquawkMissing(Exception):
    """The squawk binary (PyPI's squawk-cli) is not installed."""


def linter_problems(name, rendered):
    """django-migration-linter's errors and warnings, each laid at the operation that caused it.

    Each operation is analysed after those before it, as one transaction, and
    keeps only what it added: an index on a table created earlier in the same
    migration is then no finding, as the linter intends.
    """
    problems, before = [], []
    for operation in rendered:
        already = Counter(issue.code for issue in _issues(before))
        for issue in _issues([*before, *operation.statements]):
            if already[issue.code]:
                already[issue.code] -= 1
                continue
            problems.append(Problem(name, operation.index, operation.operation.describe(), issue.code, LINTER,
                                    issue.message))
        before.extend(operation.statements)
    return problems


def _issues(statements):
    lines = [line for statement in statements for line in statement.splitlines()]
    errors, _ignored, warnings = analyse_sql_statements(PostgresqlAnalyser, lines, list(LINTER_EXCLUDED))
    return [*errors, *warnings]  # its warnings (CREATE INDEX locks table) are errors here


def squawk_binary():
    candidate = Path(sys.executable).with_name("squawk")
    found = str(candidate) if candidate.exists() else shutil.which("squawk")
    if not found:
        raise SquawkMissing("squawk is not installed: run `pip install -r requirements.txt` (it ships in squawk-cli)")
    return found


def squawk_problems(name, migration, rendered):
    """squawk's findings over the whole migration, mapped back to operations by line."""
    lines, owners = [], []
    for operation in rendered:
        for statement in operation.statements:
            for line in statement.splitlines() or [""]:
                lines.append(line)
                owners.append(operation)
    if not lines:
        return []
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="migration-") as sql_file:
        sql_file.write("\n".join(lines) + "\n")
        sql_file.flush()
        command = [squawk_binary(), "--reporter", "json", f"--pg-version={PG_VERSION // 10000}",
                   f"--exclude={','.join(SQUAWK_EXCLUDED)}", sql_file.name]
        if migration.atomic:
            # One transaction: a table created earlier in it is new, and locks are held to the end.
            command.insert(1, "--assume-in-transaction")
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"squawk failed (exit {result.returncode}): {result.stderr.strip()[:500]}")
    problems = []
    for finding in json.loads(result.stdout):
        operation = owners[min(finding["line"], len(owners) - 1)]
        message = finding["message"] + (f" {finding['help']}" if finding.get("help") else "")
        problems.append(Problem(name, operation.index, operation.operation.describe(), finding["rule_name"], SQUAWK,
                                message))
    return problems
