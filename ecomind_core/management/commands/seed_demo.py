"""Load a small demo data set: organisations, users, events, daily totals, audit rows."""

import random

from django.db import transaction

from ecomind_core import factories, models
from ecomind_core.management.base import DatabaseCommand, cannot_run
from ecomind_core.rollups import rebuild_daily_totals


class Command(DatabaseCommand):
    help = "Load a small demo data set (refuses if organisations already exist, unless --force)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--events", type=int, default=2000, help="How many events (default 2000).")
        parser.add_argument("--force", action="store_true", help="Add demo data even if the database has some.")

    def handle(self, *args, events, force, **options):
        if events < 0:
            raise cannot_run("--events must be zero or more.")
        if models.Organisation.objects.using(self.using).exists() and not force:
            self.stdout.write("Demo data not loaded: the database already holds organisations (use --force to add more).")
            return
        random.seed(2026)
        # Built in memory, then written to --database: factory-boy's create()
        # would write to the default database whatever was asked.
        with self.database_errors("load the demo data"), transaction.atomic(using=self.using):
            orgs = self.save(factories.OrganisationFactory.build_batch(3))
            users = self.save([factories.CustomerUserFactory.build(org=org) for org in orgs for _ in range(4)])
            chosen = [random.choice(users) for _ in range(events)]
            self.save([factories.EventFactory.build(org_id=user.org_id, user_id=user.id) for user in chosen])
            rebuild_daily_totals(using=self.using)
            self.save([factories.AuditLogFactory.build(org_id=user.org_id, user_id=user.id) for user in users])
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {len(orgs)} organisations, {len(users)} users, {events} events and their daily totals into {self.target()}."
        ))

    def save(self, objects):
        if objects:
            type(objects[0]).objects.using(self.using).bulk_create(objects, batch_size=1000)
        return objects
