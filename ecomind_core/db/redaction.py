"""Say which database a command talks to, and why it could not, safely.

Operators need the host and database name in every message; they must never
see the password, even when a driver echoes connection details back.
"""

import re

from django.db import connections

from ecomind_core.db.tls import certificate_hint


def describe(using="default"):
    """``postgresql://user:***@host:port/name`` (password masked) or ``sqlite file PATH``."""
    settings = connections[using].settings_dict
    if connections[using].vendor == "sqlite":
        return f"sqlite file {settings['NAME']}"
    masked = ":***" if settings.get("PASSWORD") else ""
    user = f"{settings['USER']}{masked}@" if settings.get("USER") else ""
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgresql://{user}{settings.get('HOST') or 'localhost'}{port}/{settings['NAME']}"


def redact(text, using="default"):
    """``text`` with the configured password, if any, replaced by ``***``.

    Only where it stands as a word of its own: a short password such as
    ``p`` must not turn ``postgresql`` into ``***ostgresql``.
    """
    password = connections[using].settings_dict.get("PASSWORD")
    if not password:
        return text
    return re.sub(rf"(?<![A-Za-z0-9]){re.escape(password)}(?![A-Za-z0-9])", "***", text)


def connection_problem(exc, using="default"):
    """One line explaining why ``using`` could not be reached, password-free."""
    # libpq repeats its line for each attempt (TLS, then plain): say it once.
    lines = []
    for line in (" ".join(line.split()) for line in str(exc).splitlines()):
        if line and not any(kept.endswith(line) for kept in lines):
            lines.append(line)
    detail = " ".join(lines) or type(exc).__name__
    hint = certificate_hint(detail)
    return redact(f"cannot connect to {describe(using)}: {detail}{f'; {hint}' if hint else ''}", using)
