"""Lift a sign-in lockout now, instead of waiting ADMIN_LOCKOUT_MINUTES.

    python manage.py unlock_staff alice                      # the account, from every address
    python manage.py unlock_staff --address 203.0.113.7      # the address, for every account
    python manage.py unlock_staff alice --address 203.0.113.7

Deletes the failed sign-ins django-axes counted for the account and/or the
address and, in the same transaction, writes an ``auth.unlock`` audit row
saying how many went. Nothing counted: says so, changes nothing. Says how
many records would go, then asks (``--no-input``: doesn't; ``--dry-run``:
only says).

Exit codes (exit_codes.py): 0 unlocked, or nothing to unlock; 2 bad
arguments, database unreachable, or not confirmed (nothing changed).
"""

import ipaddress

from django.db import transaction

from ecomind_core.audit.records import SYSTEM_ORG, record
from ecomind_core.management.base import DatabaseCommand, cannot_run
from ecomind_core.signin.audit import RESOURCE, UNLOCK
from ecomind_core.signin.lockout import failed_attempts


class Command(DatabaseCommand):
    help = "Unlock a staff account (and/or a client address) locked out after failed sign-ins; recorded in audit_logs."
    changes_data = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("username", nargs="?", help="The account to unlock (as typed at sign-in).")
        parser.add_argument("--address", help="Also (or only) unlock this client IP address.")

    def handle(self, *args, username, address, dry_run, **options):
        if not username and not address:
            raise cannot_run("name the account to unlock (unlock_staff USERNAME) or an address (--address IP).")
        if address:
            try:
                address = str(ipaddress.ip_address(address))
            except ValueError:
                raise cannot_run(f"--address {address!r} is not an IP address (e.g. 203.0.113.7 or 2001:db8::7).") from None
        what = " and ".join(filter(None, (username and f"account {username!r}", address and f"address {address}")))
        attempts = failed_attempts(username=username, address=address, using=self.using)
        with self.database_errors("count the failed sign-ins"):
            counted = attempts.count()
        if not counted:
            self.stdout.write(f"No failed sign-ins are counted for {what} on {self.target()}: nothing to unlock.")
            return
        self.stdout.write(f"{counted} record{'s' if counted != 1 else ''} of failed sign-ins for {what} "
                          f"would be cleared on {self.target()}.")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
            return
        self.confirm(f"Unlock {what}?")
        with self.database_errors("unlock"), transaction.atomic(using=self.using):
            cleared = attempts.delete()[1].get(attempts.model._meta.label, 0)
            record(org_id=SYSTEM_ORG, action=UNLOCK, resource=RESOURCE, using=self.using,
                   details={"username": username, "address": address, "cleared": cleared})
        self.stdout.write(self.style.SUCCESS(
            f"Unlocked {what}: {cleared} record{'s' if cleared != 1 else ''} of failed sign-ins cleared; recorded in audit_logs."
        ))
