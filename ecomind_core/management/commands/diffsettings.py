"""Django's ``diffsettings``, with every secret masked.

Stock ``diffsettings`` prints ``DATABASES`` with the password and
``SECRET_KEY`` in clear; no command of this project may print either.
"""

from django.core.management.commands import diffsettings
from django.views.debug import SafeExceptionReporterFilter

MASK = SafeExceptionReporterFilter.cleansed_substitute


class Command(diffsettings.Command):
    def handle(self, **options):
        output = super().handle(**options)
        from django.conf import settings
        from django.db import connections

        secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        secrets += [connections[alias].settings_dict.get("PASSWORD") for alias in connections]
        for secret in sorted(filter(None, secrets), key=len, reverse=True):
            output = output.replace(secret, MASK)
        return output
