from django.contrib.admin.apps import AdminConfig


class EcoMindAdminConfig(AdminConfig):
    """Django's admin app, serving EcoMind's admin site (ecomind_core/admin_site.py)."""

    default_site = "ecomind_core.admin_site.EcoMindAdminSite"
