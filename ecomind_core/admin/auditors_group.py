"""The "Auditors" group: view-only rights on everything EcoMind owns.

Kept in step after every ``migrate`` (post_migrate), so new models are
covered the day their migration lands. Assign it to support and compliance
staff (with ``is_staff`` on) in the admin's user page.
"""

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

AUDITORS = "Auditors"


def ensure_auditors_group(app_config, using=DEFAULT_DB_ALIAS, apps=global_apps, **kwargs):
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:  # auth not migrated in this state
        return
    view = Permission.objects.using(using).filter(content_type__app_label=app_config.label, codename__startswith="view_")
    group, _ = Group.objects.using(using).get_or_create(name=AUDITORS)
    group.permissions.set(view)
