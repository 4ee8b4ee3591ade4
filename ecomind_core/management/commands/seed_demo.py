"""Load a small demo data set: organisations, users, events, daily totals, audit rows."""

import random

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ecomind_core import factories, models
from ecomind_core.rollups import rebuild_daily_totals


class Command(BaseCommand):
    help = "Load a small demo data set (refuses if organisations already exist, unless --force)."

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=2000, help="How many events (default 2000).")
        parser.add_argument("--force", action="store_true", help="Add demo data even if the database has some.")
        parser.add_argument("--database", default="default")

    def handle(self, *args, events, force, database, **options):
        if events < 0:
            raise CommandError("--events must be zero or more.", returncode=2)
        if models.Organisation.objects.using(database).exists() and not force:
            self.stdout.write("Demo data not loaded: the database already holds organisations (use --force to add more).")
            return
        random.seed(2026)
        with transaction.atomic(using=database):
            orgs = factories.OrganisationFactory.create_batch(3)
            users = [factories.CustomerUserFactory(org=org) for org in orgs for _ in range(4)]
            for _ in range(events):
                user = random.choice(users)
                factories.EventFactory(org_id=user.org_id, user_id=user.id)
            rebuild_daily_totals()
            for user in users:
                factories.AuditLogFactory(org_id=user.org_id, user_id=user.id)
        self.stdout.write(
            self.style.SUCCESS(f"Loaded {len(orgs)} organisations, {len(users)} users, {events} events and their daily totals.")
        )
