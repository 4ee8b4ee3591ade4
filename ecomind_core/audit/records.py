"""Writing audit rows: one place that turns who/what/before/after into ``audit_logs``.

Conventions (docs/admin.md): staff actions through the admin are
``admin.add``/``admin.change``/``admin.delete`` on resource ``org`` or
``user``; the staff account is recorded in ``details["staff"]`` (``user_id``
is for customer users); schema and retention operations use ``org_id =
"system"``.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from ecomind_core.db.reconnect import reopen_if_lost
from ecomind_core.models import AuditLog

#: ``org_id`` of rows about the system itself (schema and retention operations).
SYSTEM_ORG = "system"
#: ``action`` of the rows baseline writes; ``baseline --undo`` reads the newest.
BASELINE, BASELINE_UNDO = "schema.baseline", "schema.baseline_undo"
#: Records that other commands rely on: retention never deletes them.
KEPT_FOREVER = (BASELINE, BASELINE_UNDO)
#: Never copied into an audit row.
SECRET_FIELDS = {"password_hash"}


def snapshot(obj):
    """The object's column values, JSON-ready (dates as ISO text), secrets left out."""
    values = {
        field.attname: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if field.attname not in SECRET_FIELDS
    }
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def changed(before, after):
    """Only the fields whose value differs: ``{field: {"before": x, "after": y}}``."""
    keys = set(before or {}) | set(after or {})
    return {
        key: {"before": (before or {}).get(key), "after": (after or {}).get(key)}
        for key in sorted(keys)
        if (before or {}).get(key) != (after or {}).get(key)
    }


def record(*, org_id, action, resource, details, user_id=None, using=None):
    return AuditLog.objects.using(using).create(
        org_id=org_id, user_id=user_id, action=action, resource=resource, details=details
    )


def record_staff_change(staff, obj, *, action, resource, org_id, before=None, after=None):
    """An admin add/change/delete of ``obj`` by ``staff``, with values before and after."""
    return record(
        org_id=org_id,
        action=f"admin.{action}",
        resource=resource,
        details={
            "staff": {"id": staff.pk, "username": staff.get_username()},
            "object_id": str(obj.pk),
            "before": before,
            "after": after,
            "changed": changed(before, after),
        },
    )


def record_or_say(say, *, using=None, **row):
    """``record(**row)`` after a command's work, even one that failed half-way: what was done is never left
    unrecorded. If the database does not take the row (the connection was lost), ``say`` prints it instead."""
    try:
        reopen_if_lost(connections[using or DEFAULT_DB_ALIAS])
        return record(using=using, **row)
    except DatabaseError:
        say(f"audit row not written (the database did not take it), kept here: {json.dumps(row, cls=DjangoJSONEncoder)}")
