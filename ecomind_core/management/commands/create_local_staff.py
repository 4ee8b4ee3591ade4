"""A local superuser for trying the admin, with a login that stays the same run after run.

The first run creates the account with a random password and keeps that
password in ``var/local-staff-login`` (``LOCAL_LOGIN_FILE``; git-ignored,
readable by you only), so
that every later run of ``scripts/run-app`` prints the same login instead of
silently replacing it. ``--reset-password`` makes a new one. DEBUG only.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model

from ecomind_core.management.base import DatabaseCommand, cannot_run


class Command(DatabaseCommand):
    help = "Create a local superuser (DEBUG only) and print its login; the same login on every run."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--username", default="admin")
        parser.add_argument("--reset-password", action="store_true", help="Give the account a new random password.")

    def handle(self, *args, username, reset_password, **options):
        if not settings.DEBUG:
            raise cannot_run("create_local_staff is for local development: it needs DEBUG=true.")
        users = get_user_model().objects.db_manager(self.using)
        user = users.filter(username=username).first()
        password = self.saved_password(username)
        if user is not None and password and user.check_password(password) and not reset_password:
            self.stdout.write(f"Local staff login (unchanged): username {username}  password {password}")
            return
        password = secrets.token_urlsafe(12)
        user = user or users.model(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save(using=self.using)
        self.save_password(username, password)
        self.stdout.write(f"Local staff login (new password, kept in {settings.LOCAL_LOGIN_FILE}): "
                          f"username {username}  password {password}")

    @staticmethod
    def saved_password(username):
        try:
            saved_user, password = settings.LOCAL_LOGIN_FILE.read_text().strip().split(" ", 1)
        except (OSError, ValueError):
            return None
        return password if saved_user == username else None

    @staticmethod
    def save_password(username, password):
        path = settings.LOCAL_LOGIN_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(f"{username} {password}\n")
