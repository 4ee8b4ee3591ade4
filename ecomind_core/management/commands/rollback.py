"""Go back: unapply migrations, never dropping data silently (docs/deployment/rollback.md).

    python manage.py rollback --dry-run                  # the plan for one step back: order, SQL, what it destroys
    python manage.py rollback --steps 2
    python manage.py rollback --to ecomind_core.0004_audit_log_append_only
    python manage.py rollback --to ecomind_core.0001_initial --allow-data-loss

``--steps N`` (default 1) unapplies the N newest applied migrations of
EcoMind's app (``ecomind_core``), with whatever depends on them; ``--to
APP.MIGRATION`` goes back until that migration is the newest applied of its
app (``APP.zero``: all of the app). Post-deploy migrations are unapplied
before pre-deploy ones wherever the dependencies allow: a release undone in
the reverse order it was made.

Before anything changes it shows the plan, each migration with its stage
and what it destroys, counted on the live database (rows of dropped tables,
non-null values of dropped columns); ``--dry-run`` adds the SQL and stops
there. A step that destroys data is refused unless ``--allow-data-loss``; an
irreversible one is refused always. Then it asks (``--no-input``: doesn't),
takes the migration lock, and checks under it that the plan is still the one
shown. It shares ``migrate``'s advisory lock, ``lock_timeout`` and retries
naming the blockers, and writes one ``schema.rollback`` audit row per
migration, failed ones too. Then check the result with
``verify_schema --at APP.MIGRATION``.

Exit codes (exit_codes.py): 0 rolled back, nothing to roll back, or dry run;
1 refused (data loss without --allow-data-loss, an irreversible step, the
plan changed) or a migration failed; 2 a bad flag or target, the database
unreachable, or not confirmed; 3 the lock timeout hit (re-running is safe).
"""

from django.db import DatabaseError, InterfaceError
from django.db.migrations.executor import MigrationExecutor

from ecomind_core.audit.schema_changes import ROLLBACK, SchemaChangeLog
from ecomind_core.management.base import cannot_run
from ecomind_core.management.commands import migrate
from ecomind_core.management.exit_codes import ExitCode
from ecomind_core.migration_safety.backward import backward_steps, rollback_order
from ecomind_core.migration_safety.graph import OWNED_APPS, parse_target
from ecomind_core.migration_safety.stages import stage_name

#: The app ``--steps`` counts in.
APP = OWNED_APPS[0]


class Command(migrate.Command):
    help = (
        "Unapply migrations (--steps N, default 1, or --to APP.MIGRATION), showing first what each step destroys; "
        "a step that destroys data needs --allow-data-loss. Exit 0: done; 1: refused or failed; 2: could not run; "
        "3: lock timeout."
    )
    changes_data = True

    def add_arguments(self, parser):
        # Not migrate's positional arguments: a target is --to, a count --steps.
        self.add_database_argument(parser)
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--steps", type=int, metavar="N", help=f"Unapply the N newest applied migrations of {APP} (default 1).")
        target.add_argument("--to", metavar="APP.MIGRATION",
                            help="Unapply until this migration is the newest applied of its app (APP.zero: all of it).")
        parser.add_argument("--allow-data-loss", action="store_true",
                            help="Go ahead with steps that drop tables or columns holding data (the counts are shown first).")
        self.add_lock_arguments(parser)

    def handle(self, *args, steps, to, dry_run, allow_data_loss, **options):
        self.prepare(options)
        if steps is not None and steps < 1:
            raise cannot_run("--steps must be 1 or more.")
        executor = MigrationExecutor(self.connection)
        targets = self.targets(executor.loader, steps or 1, to)
        with self.database_errors("plan the rollback"):
            shown = self.plan(executor, targets)
            if not shown:
                self.stdout.write(f"Nothing to roll back on {self.target()}: {self.describe_targets(targets)} already.")
                return
            steps_shown = backward_steps(executor, shown, with_sql=dry_run)
        self.show(steps_shown, dry_run)
        self.refuse_unless_allowed(steps_shown, allow_data_loss)
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
            return
        self.confirm(f"Unapply these {len(shown)} migrations from {self.target()}?")
        self.changes = SchemaChangeLog(self.using, ROLLBACK, self.command_line_of(steps, to, allow_data_loss))
        try:
            with self.schema_lock():
                self.with_lock_retries(lambda: self.unapply(targets, shown, allow_data_loss))
        except (DatabaseError, InterfaceError) as exc:
            raise self.failure(exc) from None
        finally:
            self.write_pending_audit_rows()
        self.stdout.write(self.style.SUCCESS(
            f"Rolled back {len(shown)} migrations; recorded in audit_logs. Check the result with "
            f"`manage.py verify_schema --at {self.describe_targets(targets)}`."
        ))

    # -- what to unapply ----------------------------------------------------------
    def targets(self, loader, steps, to):
        """Django's migrate targets for ``--to`` or ``--steps`` (exit 2 for a target that does not exist)."""
        if to is not None:
            try:
                return [parse_target(loader, to)]
            except ValueError as exc:
                raise cannot_run(f"--to {exc}.") from None
        applied = [key for key in loader.graph.forwards_plan(max(loader.graph.leaf_nodes(APP)))
                   if key[0] == APP and key in loader.applied_migrations]
        if len(applied) < steps:
            raise cannot_run(f"--steps {steps}: only {len(applied)} migrations of {APP} are applied.")
        keep = applied[:-steps]
        return [keep[-1] if keep else (APP, None)]

    def plan(self, executor, targets):
        """The backward plan to ``targets``, in rollback order (post-deploy first where allowed)."""
        plan = executor.migration_plan(targets)
        if any(not backwards for _, backwards in plan):
            raise cannot_run(f"{self.describe_targets(targets)} is not applied yet: rollback only goes back "
                             "(`manage.py migrate` goes forward).")
        return rollback_order(plan, executor.loader.graph)

    def unapply(self, targets, shown, allow_data_loss):
        """Under the lock: the plan again, checked against the one shown, then unapplied."""
        executor = MigrationExecutor(self.connection, self.migration_progress_callback)
        plan = self.plan(executor, targets)
        shown_names = [f"{m.app_label}.{m.name}" for m, _ in shown]
        if [f"{m.app_label}.{m.name}" for m, _ in plan] != shown_names[len(shown_names) - len(plan):]:
            self.refuse("the migrations applied changed since the plan was shown (another migrate or rollback ran): "
                        "nothing was changed by this run; run it again to see the new plan")
        self.refuse_unless_allowed(backward_steps(executor, plan, with_sql=False), allow_data_loss, quiet=True)
        if plan:
            executor.migrate(targets, plan=plan)

    # -- what the operator sees -----------------------------------------------------
    def show(self, steps, with_sql):
        self.stdout.write(f"Rollback plan for {self.target()}, in order:")
        for number, step in enumerate(steps, 1):
            self.stdout.write(f"{number}. unapply {step.name} ({stage_name(step.migration)})")
            if step.irreversible:
                self.stdout.write(f"   cannot be unapplied: {step.irreversible}")
            for loss in step.losses:
                self.stdout.write(f"   {loss}")
            for note in step.notes:
                self.stdout.write(f"   note: {note}")
            if not step.losses and not step.irreversible:
                self.stdout.write("   destroys no data")
            if with_sql:
                self.stdout.write("   SQL:")
                for line in step.sql:
                    self.stdout.write(f"     {line}")

    def refuse_unless_allowed(self, steps, allow_data_loss, quiet=False):
        irreversible = [step for step in steps if step.irreversible]
        if irreversible:
            self.refuse(f"{irreversible[0].name} cannot be unapplied ({irreversible[0].irreversible}); nothing was changed")
        destroying = [step for step in steps if step.destroys]
        if destroying and not allow_data_loss:
            what = "; ".join(f"{step.name} {', '.join(str(loss) for loss in step.destroys)}" for step in destroying)
            self.refuse(f"going back destroys data: {what}. Nothing was changed. Back the data up, then re-run with "
                        "--allow-data-loss (docs/deployment/rollback.md)")

    def refuse(self, message):
        self.stderr.write(f"rollback refused: {message}.")
        self.exit_with(ExitCode.FOUND)

    @staticmethod
    def describe_targets(targets):
        app, name = targets[0]
        return f"{app}.{name}" if name else f"{app}.zero"

    @staticmethod
    def command_line_of(steps, to, allow_data_loss):
        words = ["rollback", f"--to {to}" if to else f"--steps {steps or 1}"]
        return " ".join(words + (["--allow-data-loss"] if allow_data_loss else []))
