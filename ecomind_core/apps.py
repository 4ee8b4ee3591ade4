from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EcomindCoreConfig(AppConfig):
    name = "ecomind_core"
    verbose_name = "EcoMind"

    def ready(self):
        from ecomind_core.admin.auditors_group import ensure_auditors_group
        from ecomind_core.db import tls  # noqa: F401 -- registers its check --deploy
        from ecomind_core.signin import audit as signin_audit
        from ecomind_core.signin import proxy_check  # noqa: F401 -- registers its check --deploy

        post_migrate.connect(ensure_auditors_group, sender=self, dispatch_uid="ecomind_core.admin.auditors_group")
        signin_audit.connect()
