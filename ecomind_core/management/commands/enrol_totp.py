"""Enrol a staff account for two-factor sign-in in this terminal: for recovery where no browser can be used.

The usual way is ``enrolment_link``: the staff member gets the key in their
own browser, and it never sits in a terminal. This command prints it.

    python manage.py enrol_totp alice             # first enrolment
    python manage.py enrol_totp alice --replace   # lost phone, or recovery codes used up

Prints the ``otpauth://`` URI to load into the authenticator app (scan it as
a QR code, e.g. ``qrencode -t ansiutf8 'URI'``, or type the key), and ten
single-use recovery codes. They are shown this once: run it in a terminal,
not in a job whose output is kept. ``--replace`` discards the account's old
key and codes, after saying so and asking (``--no-input``: doesn't;
``--dry-run``: only says). Writes an ``auth.enrol_totp`` audit row (never
the key or codes).

Exit codes (exit_codes.py): 0 enrolled; 2 no such staff account, already
enrolled without --replace, database unreachable, or a replacement not
confirmed. Nothing changes on 2.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from ecomind_core.audit.records import SYSTEM_ORG, record
from ecomind_core.management.base import DatabaseCommand, cannot_run
from ecomind_core.signin.audit import ENROL, RESOURCE, staff
from ecomind_core.signin.two_factor import enrol, grouped_key, is_enrolled


class Command(DatabaseCommand):
    help = "Give a staff account an authenticator-app key and recovery codes for two-factor sign-in (printed once)."
    changes_data = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("username", help="The staff account.")
        parser.add_argument("--replace", action="store_true", help="Replace the account's key and recovery codes.")

    def handle(self, *args, username, replace, dry_run, **options):
        with self.database_errors("enrol"):
            user = get_user_model().objects.db_manager(self.using).filter(username=username).first()
            if user is None or not user.is_staff:
                raise cannot_run(f"{username!r} is not a staff account on {self.target()}: create it (createsuperuser, "
                                 "or the admin's Users page with 'Staff status') first.")
            replacing = is_enrolled(user, using=self.using)
            if replacing and not replace:
                raise cannot_run(f"{username!r} is enrolled already; --replace gives a new key and recovery codes "
                                 "(the old ones stop working).")
            if dry_run:
                verb = "replace its key and recovery codes" if replacing else "give it a key and recovery codes"
                self.stdout.write(f"Dry run: would {verb} ({username!r} on {self.target()}); nothing was written.")
                return
            if replacing:
                self.confirm(f"Replace {username!r}'s two-factor key and recovery codes (the old ones stop working)?")
            with transaction.atomic(using=self.using):
                app, codes = enrol(user, using=self.using)
                record(org_id=SYSTEM_ORG, action=ENROL, resource=RESOURCE, using=self.using,
                       details={"staff": staff(user), "replaced": replacing, "recovery_codes": len(codes), "via": "command"})
        self.stdout.write(
            f"Two-factor sign-in enrolled for {username!r} on {self.target()}{' (old key and codes replaced)' if replacing else ''}.\n"
            "Load this into the authenticator app (scan it as a QR code, or type the key):\n"
            f"  {app.config_url}\n"
            f"  key: {grouped_key(app)}\n"
            "Recovery codes (each works once, typed in place of the app's code; keep them offline):\n"
            + "".join(f"  {code}\n" for code in codes)
            + "These are shown only now."
        )
