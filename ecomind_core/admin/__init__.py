"""EcoMind's admin: one module per kind of page. Importing registers them."""

from . import audit_logs, events, organisations  # noqa: F401
