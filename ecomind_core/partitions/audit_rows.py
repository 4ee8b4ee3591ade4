"""How retention treats the audit trail's rows: which are never removed."""

from ecomind_core.audit.records import KEPT_FOREVER


def kept_audit_rows(quote):
    """``(sql, params)`` for the audit rows no retention removes: baseline's records (``baseline --undo`` reads them)."""
    return f"{quote('action')} = ANY(%s)", [list(KEPT_FOREVER)]
