from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EcomindCoreConfig(AppConfig):
    name = "ecomind_core"
    verbose_name = "EcoMind"

    def ready(self):
        from ecomind_core import signin_audit
        from ecomind_core.auditors import ensure_auditors_group

        post_migrate.connect(ensure_auditors_group, sender=self, dispatch_uid="ecomind_core.auditors")
        signin_audit.connect()
