"""The project's settings, from the environment as in production, plus ``tests.staged_app``."""

from ecomind.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.staged_app"]  # noqa: F405
