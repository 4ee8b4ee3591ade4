"""``check --deploy``: production settings without ``TRUSTED_PROXIES``.

Production settings already assume a proxy in front (TLS ends there:
``SECURE_PROXY_SSL_HEADER``). Without ``TRUSTED_PROXIES`` the app cannot
tell its clients apart: every one has the proxy's address, so one client's
failed sign-ins lock out every staff member for ``ADMIN_LOCKOUT_MINUTES``.
"""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_trusted_proxies(app_configs=None, **kwargs):
    if settings.DEBUG or settings.TRUSTED_PROXIES:
        return []
    return [checks.Warning(
        "TRUSTED_PROXIES is not set: behind a load balancer every client has its address, and one client's failed "
        "sign-ins lock out every staff member.",
        hint="Set TRUSTED_PROXIES to the addresses or network of your load balancers, e.g. 10.0.0.0/16 "
             "(docs/admin.md, \"Lockout\").",
        id="ecomind.W002",
    )]
