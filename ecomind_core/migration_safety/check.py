"""Check every migration after the reviewed baseline: the problems each one has, and what was accepted.

A migration may accept a flagged operation after review, with the reason
written in the migration itself::

    class Migration(migrations.Migration):
        # check_migrations: operation index -> why it is safe anyway (who reviewed, when)
        safety_reviewed = {0: "orgs holds 40 rows; a plain index takes milliseconds (reviewed: A. Ops, 2026-12-01)"}

An operation of ours that is built to be safe (``operations.py``)
says which rules its known-safe SQL pattern trips (``lint_exempt``): a
NOT VALID constraint's later VALIDATE, say.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.migrations.loader import MigrationLoader

from .linters import linter_problems, squawk_problems
from .rendering import render
from .rules import Problem, is_contract_step, own_rules


@dataclass
class MigrationReport:
    key: tuple
    path: str
    problems: list = field(default_factory=list)
    #: ``(problem, reason)`` for problems a reviewed exception accepts.
    accepted: list = field(default_factory=list)

    @property
    def name(self):
        return f"{self.key[0]}.{self.key[1]}"


def migrations_to_check(loader, everything=False):
    """Migrations of the checked apps after their reviewed baseline (``CHECK_MIGRATIONS_AFTER``), in order."""
    baselines = settings.CHECK_MIGRATIONS_AFTER
    reviewed = set()
    if not everything:
        for app_label, name in baselines.items():
            reviewed |= set(loader.graph.forwards_plan((app_label, name)))
    keys = []
    for leaf in loader.graph.leaf_nodes():
        for key in loader.graph.forwards_plan(leaf):
            if key[0] in baselines and key not in reviewed and key not in keys:
                keys.append(key)
    return keys


def check_migration(loader, key):
    migration = loader.graph.nodes[key]
    name = f"{key[0]}.{key[1]}"
    rendered = render(loader, key)
    statements = {operation.index: operation for operation in rendered}
    report = MigrationReport(key, _path(migration))
    found = [*linter_problems(name, rendered), *squawk_problems(name, migration, rendered),
             *own_rules(key, migration, rendered)]
    reviewed = getattr(migration, "safety_reviewed", {}) or {}
    for problem in found:
        operation = statements[problem.operation]
        if problem.rule in getattr(operation.operation, "lint_exempt", ()):
            continue
        if any(is_contract_step(migration, problem, statement) for statement in operation.statements):
            continue
        reason = str(reviewed.get(problem.operation, "")).strip()
        if reason:
            report.accepted.append((problem, reason))
        else:
            report.problems.append(problem)
    for index, reason in reviewed.items():
        if not str(reason).strip():
            report.problems.append(Problem(name, index, "safety_reviewed", "review-without-reason", "ecomind",
                                           "a reviewed exception must say why the operation is safe"))
    return report


def check_all(everything=False):
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return [check_migration(loader, key) for key in migrations_to_check(loader, everything)]


def _path(migration):
    import sys

    module = sys.modules[type(migration).__module__]
    return module.__file__
