"""Settings for the test suite: the project's own, on the local PostgreSQL.

``ECOMIND_TEST_PG`` is the server (default ``postgres://postgres@127.0.0.1:5432``);
``ECOMIND_TEST_DB`` names pytest-django's database, so that two runs on one
server can keep apart.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
SERVER = os.environ.setdefault("ECOMIND_TEST_PG", "postgres://postgres@127.0.0.1:5432")
os.environ.setdefault("DATABASE_URL", f"{SERVER}/ecomind")

from ecomind.settings import *  # noqa: E402,F403

DATABASES["default"]["TEST"] = {"NAME": os.environ.get("ECOMIND_TEST_DB", "test_ecomind")}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
