from django.apps import AppConfig


class EcomindCoreConfig(AppConfig):
    name = "ecomind_core"
    verbose_name = "EcoMind"
