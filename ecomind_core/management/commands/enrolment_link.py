"""Issue a one-time, expiring link with which a staff member sets up two-factor sign-in themselves.

    python manage.py enrolment_link alice                      # valid ADMIN_ENROLMENT_LINK_HOURS (24)
    python manage.py enrolment_link alice --hours 72 --base-url https://admin.example.com

Prints the link, nothing secret: opened, it asks for the account's password,
then shows a new authenticator key as a QR code in that browser and, once a
code from the app is confirmed, the recovery codes (docs/admin.md,
"Enrolment"). No key or code is in this command's output, a log or the
audit trail; it writes an ``auth.enrolment_link`` audit row (never the
link). It removes and rewrites nothing: the account's current key and codes
keep working until the new ones are confirmed in the browser; there is no
``--dry-run``. ``enrol_totp`` stays for recovery, where no browser can be used.

The link's address is ``--base-url``, else ``https://`` and the first name
in ``ALLOWED_HOSTS`` (``http://localhost:8000`` under ``DEBUG``).

Exit codes (exit_codes.py): 0 issued; 2 no such active staff account, no
address for the link, or the database unreachable.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from ecomind_core.management.base import DatabaseCommand, cannot_run
from ecomind_core.signin.enrolment_links import issue, record_issued
from ecomind_core.signin.two_factor import is_enrolled

MAX_HOURS = 24 * 14


def default_base_url():
    """The admin's address as settings know it, or None."""
    if settings.DEBUG:
        return "http://localhost:8000"
    for host in settings.ALLOWED_HOSTS:
        if host and not host.startswith(".") and "*" not in host:
            return f"https://{host}"
    return None


class Command(DatabaseCommand):
    help = "Print a one-time, expiring link with which a staff member sets up two-factor sign-in in their own browser."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("username", help="The staff account.")
        parser.add_argument("--hours", type=int, default=None,
                            help=f"How long the link works (default ADMIN_ENROLMENT_LINK_HOURS; at most {MAX_HOURS}).")
        parser.add_argument("--base-url", help="The admin's address, e.g. https://admin.example.com "
                                               "(default: https:// and the first name in ALLOWED_HOSTS).")

    def handle(self, *args, username, hours, base_url, **options):
        if hours is not None and not 1 <= hours <= MAX_HOURS:
            raise cannot_run(f"--hours must be from 1 to {MAX_HOURS}, not {hours}.")
        base_url = (base_url or default_base_url() or "").rstrip("/")
        if not base_url.startswith(("https://", "http://")):
            raise cannot_run("cannot tell the admin's address from ALLOWED_HOSTS: pass --base-url https://admin.example.com.")
        with self.database_errors("issue the link"):
            user = get_user_model().objects.db_manager(self.using).filter(username=username).first()
            if user is None or not (user.is_staff and user.is_active):
                raise cannot_run(f"{username!r} is not an active staff account on {self.target()}: create it "
                                 "(createsuperuser, or the admin's Users page with 'Staff status') first.")
            link = issue(user, hours, using=self.using)
            record_issued(link, issued_by={"command": "enrolment_link"}, using=self.using)
            enrolled = is_enrolled(user, using=self.using)
        self.stdout.write(
            f"Enrolment link for {username!r} on {self.target()}, working once, until "
            f"{link.expires:%Y-%m-%d %H:%M} UTC:\n"
            f"  {base_url}{reverse('admin:enrolment_open', args=[link.token])}\n"
            f"Send it to {username}. Without the account's password it is no use. It shows a new authenticator key "
            "in the browser that opens it, then the recovery codes once a code is confirmed"
            + ("; the current key and codes keep working until then." if enrolled else ".")
        )
