"""The sign-in lockout (django-axes): the page a locked-out client sees, and unlocking.

Axes counts failed sign-ins in its ``AccessAttempt`` table, per account and
per client address (settings: ``ADMIN_LOCKOUT_FAILURES``,
``ADMIN_LOCKOUT_MINUTES``). Unlocking deletes the counted failures; the
``unlock_staff`` command does it and records it in ``audit_logs``.
"""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.db.models import Q
from django.shortcuts import render

#: Too Many Requests: what a locked-out sign-in answers, as axes does by default.
LOCKED_OUT_STATUS = 429


def lockout_response(request, original_response, credentials):
    """The admin-styled page shown instead of the login form while locked out (``AXES_LOCKOUT_CALLABLE``)."""
    context = {
        **admin.site.each_context(request),
        "title": "Sign-in locked",
        "failures": settings.ADMIN_LOCKOUT_FAILURES,
        "minutes": settings.ADMIN_LOCKOUT_MINUTES,
    }
    return render(request, "admin/ecomind_core/locked_out.html", context, status=LOCKED_OUT_STATUS)


def failed_attempts(*, username=None, address=None, using=None):
    """The counted failures of an account, of an address, or of either."""
    match = Q(pk__in=[])  # neither named: nothing, never every row
    if username is not None:
        match |= Q(username=username)
    if address is not None:
        match |= Q(ip_address=address)
    return AccessAttempt.objects.using(using).filter(match)
