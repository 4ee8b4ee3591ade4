"""Every staff sign-in, failed sign-in, sign-out and lockout, as one audit row each.

Rows have ``org_id = "system"``, no ``user_id`` (staff are not customer
users), ``resource = "admin"`` and one of the actions below; ``details``
holds the username, the client address (as the lockout sees it:
ecomind_core/signin/client_address.py) and the browser's user agent (truncated),
plus ``staff`` for a sign-in or sign-out. Never a password or a code: the
only credential read is the username (Django masks the password in what it
sends; the login form sends the username alone).

A sign-in made without an HTTP request (the test client's ``force_login``
hands Django a bare ``HttpRequest``, with no method) is nobody signing in,
and is not recorded. Connected in ecomind_core/apps.py, after django-axes'
own receivers, so axes' count of this attempt is on the request already.
"""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from ecomind_core.audit.records import SYSTEM_ORG, record
from ecomind_core.signin.client_address import client_address

LOGIN, LOGIN_FAILED, LOGOUT, LOCKOUT = "auth.login", "auth.login_failed", "auth.logout", "auth.lockout"
#: Written by the commands that change sign-in state (unlock_staff, enrol_totp), by an
#: enrolment confirmed through a link, and by issuing that link (enrolment_links.py).
UNLOCK, ENROL, ENROLMENT_LINK = "auth.unlock", "auth.enrol_totp", "auth.enrolment_link"
#: Every sign-in action: the audit log's "Sign-ins" filter (an index lookup on (action, ts) each).
ACTIONS = (LOGIN, LOGIN_FAILED, LOGOUT, LOCKOUT, UNLOCK, ENROL, ENROLMENT_LINK)
RESOURCE = "admin"
USER_AGENT_CHARS = 200


def staff(user):
    return {"id": user.pk, "username": user.get_username()}


def _over_http(request):
    return request is not None and request.method is not None


def client(request, username):
    """The username, client address and user agent of ``request``, as every sign-in row has them."""
    return {
        "username": username,
        "address": client_address(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_CHARS],
    }


def _failures(request):
    """This client's failures in a row, this attempt included (counted by axes' receiver)."""
    return getattr(request, "axes_failures_since_start", None) or 0


def _record(action, details):
    record(org_id=SYSTEM_ORG, action=action, resource=RESOURCE, details=details)


def on_logged_in(sender, request, user, **kwargs):
    if _over_http(request):
        device = getattr(user, "otp_device", None)
        _record(LOGIN, {**client(request, user.get_username()), "staff": staff(user),
                        "second_factor": device.name if device else None})


def on_login_failed(sender, credentials, request=None, reason="password", **kwargs):
    if not _over_http(request):
        return
    failures, limit = _failures(request), settings.AXES_FAILURE_LIMIT
    # Past the limit before this attempt: the lock refused it, no password was checked.
    _record(LOGIN_FAILED, {**client(request, credentials.get("username")),
                           "reason": "locked_out" if failures > limit else reason, "locked": failures >= limit})


def on_logged_out(sender, request, user, **kwargs):
    if _over_http(request) and user is not None:
        _record(LOGOUT, {**client(request, user.get_username()), "staff": staff(user)})


def on_locked_out(sender, request, username, **kwargs):
    # Axes signals on every attempt while locked; the trail wants the moment the lock began.
    if _over_http(request) and _failures(request) == settings.AXES_FAILURE_LIMIT:
        _record(LOCKOUT, {**client(request, username), "failures": settings.AXES_FAILURE_LIMIT,
                          "minutes": settings.ADMIN_LOCKOUT_MINUTES})


def connect():
    for signal, receiver in ((user_logged_in, on_logged_in), (user_login_failed, on_login_failed),
                             (user_logged_out, on_logged_out), (user_locked_out, on_locked_out)):
        signal.connect(receiver, dispatch_uid=f"ecomind_core.signin.audit.{receiver.__name__}")
