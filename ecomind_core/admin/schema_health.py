"""The Schema health page: the newest schema verdict, migrations applied and pending, the verdict history.

Read-only, for staff who may view the audit log (superusers, Auditors): the
verdicts are audit rows. Nothing is checked while staff wait: the page shows
what ``verify_schema --record`` (the scheduled job) found, and when.
"""

from django.core.exceptions import PermissionDenied
from django.views.generic import TemplateView

from ecomind_core.monitoring.schema_health import schema_health

PERMISSION = "ecomind_core.view_auditlog"


class SchemaHealthView(TemplateView):
    template_name = "admin/ecomind_core/schema_health.html"
    site = None  # the admin site serving the page (EcoMindAdminSite.get_urls)

    def get_context_data(self, **kwargs):
        if not self.request.user.has_perm(PERMISSION):
            raise PermissionDenied
        context = super().get_context_data(**kwargs)
        context.update(self.site.each_context(self.request), title="Schema health", **schema_health())
        return context
