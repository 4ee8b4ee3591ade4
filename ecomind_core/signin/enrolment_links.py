"""One-time, expiring enrolment links: a staff member sets up two-factor sign-in without anyone handing over a key.

An operator (``manage.py enrolment_link alice``) or a superuser (the admin's
"Enrolment links" page) issues a link. It holds no secret of the account:
opened, it asks for the account's password, then shows a new authenticator
key as a QR code in that browser, and the recovery codes once a code from
the app is confirmed (signin/enrolment_pages.py). The key is made on the
server and shown only on that page: never in a terminal, a log, an audit
row or a URL.

Nothing is stored per link; like Django's password-reset links, the token
is signed with ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` accepted) and names
the account, an expiry, and a digest of what an enrolment changes: the
account's password hash and its confirmed two-factor devices. So a link

* expires (``ADMIN_ENROLMENT_LINK_HOURS``, 24 by default);
* works once: confirming replaces the account's devices, which changes the
  digest, so this link and every other issued for the account before stop
  working; so does an ``enrol_totp``, a password change, or a device deleted
  in the admin;
* is no use without the account's password, which the page asks first
  (counted by the sign-in lockout like any sign-in).
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecomind_core.audit.records import SYSTEM_ORG, record
from ecomind_core.signin.audit import ENROLMENT_LINK, RESOURCE, staff
from ecomind_core.signin.two_factor import is_enrolled

SALT = "ecomind.signin.enrolment_links"


class InvalidLink(Exception):
    """The link cannot be used; the message says why, for the person who opened it."""

    def __init__(self, message, status=410):
        super().__init__(message)
        self.status = status  # 410 Gone: it was a link and is no more; 404: it never was one


@dataclass(frozen=True)
class Link:
    token: str
    user: object
    expires: datetime.datetime


def _state(user, secret, using=None):
    """A digest of what enrolling (or a password change) changes for ``user``."""
    apps = TOTPDevice.objects.using(using).filter(user=user, confirmed=True).order_by("pk").values_list("pk", "key")
    recovery = StaticDevice.objects.using(using).filter(user=user, confirmed=True).order_by("pk").values_list("pk", flat=True)
    value = f"{user.pk}|{user.password}|{user.is_active}|{user.is_staff}|{list(apps)}|{list(recovery)}"
    return salted_hmac(SALT, value, secret=secret, algorithm="sha256").hexdigest()[:32]


def issue(user, hours=None, using=None):
    """A new :class:`Link` for the staff account ``user``, valid ``hours`` (``ADMIN_ENROLMENT_LINK_HOURS``)."""
    if not (user.is_staff and user.is_active):
        raise InvalidLink(f"{user.get_username()!r} is not an active staff account.")
    expires = timezone.now() + datetime.timedelta(hours=hours or settings.ADMIN_ENROLMENT_LINK_HOURS)
    payload = {"u": user.pk, "e": int(expires.timestamp()), "s": _state(user, settings.SECRET_KEY, using)}
    return Link(signing.dumps(payload, salt=SALT, compress=False), user, expires.replace(microsecond=0))


def resolve(token):
    """The :class:`Link` ``token`` stands for, or :class:`InvalidLink` saying why it cannot be used."""
    try:
        payload = signing.loads(token, salt=SALT)
        user_id, expires, state = payload["u"], payload["e"], payload["s"]
    except (signing.BadSignature, KeyError, TypeError):
        raise InvalidLink("This is not an enrolment link of this site: check it was copied whole.", status=404) from None
    expires = datetime.datetime.fromtimestamp(expires, tz=datetime.timezone.utc)
    if expires <= timezone.now():
        raise InvalidLink("This enrolment link has expired: ask an operator for a new one.")
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not (user.is_staff and user.is_active):
        raise InvalidLink("This enrolment link's account is not an active staff account any more.")
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    if not any(constant_time_compare(state, _state(user, secret)) for secret in secrets):
        raise InvalidLink("This enrolment link has been used, or the account has enrolled or changed its password "
                          "since it was issued: ask an operator for a new one.")
    return Link(token, user, expires)


def record_issued(link, *, issued_by, using=None, **details):
    """The ``auth.enrolment_link`` audit row: for whom, until when, by whom. Never the link itself."""
    record(org_id=SYSTEM_ORG, action=ENROLMENT_LINK, resource=RESOURCE, using=using, details={
        **details, "for": staff(link.user), "expires": link.expires.isoformat(), "issued_by": issued_by,
        "replaces_enrolment": is_enrolled(link.user, using=using),
    })
