"""Two-factor sign-in for staff (django-otp): checking a code, and enrolling an account.

A code is either the one the staff member's authenticator app shows (a TOTP
device, all digits) or one of their single-use recovery codes (a static
device, never all digits). Each is checked only against its own kind of
device: a mistyped app code must not count as a failed attempt against the
recovery codes, which django-otp throttles after failures.

Whether a second factor is required is ``settings.ADMIN_REQUIRE_2FA``; the
admin site enforces it (ecomind_core/admin_site.py). An enrolment through a
link (enrolment_links.py) starts with an unconfirmed device, which no code
signs in with until the first code from it is confirmed.
"""

from base64 import b32encode

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

#: How many recovery codes an enrolment hands out.
RECOVERY_CODES = 10
APP_DEVICE_NAME, RECOVERY_DEVICE_NAME = "authenticator app", "recovery codes"


def normalise(code):
    """What the person typed, as devices compare it: no spaces ("123 456"), lower case."""
    return "".join(code.split()).lower()


def verified_device(user, code):
    """The device of ``user`` that accepts ``code`` (using it up), or None."""
    code = normalise(code)
    if not code:
        return None
    kind = TOTPDevice if code.isdigit() else StaticDevice
    with transaction.atomic():
        for device in kind.objects.devices_for_user(user, confirmed=True).select_for_update():
            if device.verify_token(code):
                return device
    return None


def is_enrolled(user, using=None):
    """An authenticator app that can sign in (not one whose enrolment is still waiting for its first code)."""
    return TOTPDevice.objects.using(using).filter(user=user, confirmed=True).exists()


def recovery_code():
    """A random single-use code, never all digits (those are read as an app's code)."""
    while True:
        code = StaticToken.random_token()
        if not code.isdigit():
            return code


def enrol(user, using=None):
    """Give ``user`` a new authenticator-app device and new recovery codes, replacing any old ones.

    Returns ``(app_device, recovery_codes)``; the app device's
    ``config_url`` is the ``otpauth://`` URI to load into the app.
    """
    with transaction.atomic(using=using):
        app = TOTPDevice.objects.using(using).create(user=user, name=APP_DEVICE_NAME, confirmed=False)
        return app, confirm(user, app, using=using)


def start(user):
    """A new authenticator-app key for ``user`` that cannot sign in until a code from it is confirmed.

    For the enrolment page (enrolment_pages.py): the key is shown there, then
    :func:`confirm` makes it the account's. An earlier unconfirmed key of the
    account (an enrolment left half done) goes.
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)


def confirm(user, app, using=None):
    """Make the unconfirmed ``app`` device ``user``'s only one, with new recovery codes (returned), in one transaction."""
    with transaction.atomic(using=using):
        TOTPDevice.objects.using(using).filter(user=user).exclude(pk=app.pk).delete()
        StaticDevice.objects.using(using).filter(user=user).delete()
        app.confirmed = True
        app.save(using=using, update_fields=["confirmed"])
        recovery = StaticDevice.objects.using(using).create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
        codes = [recovery_code() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.using(using).bulk_create(StaticToken(device=recovery, token=code) for code in codes)
    return codes


def grouped_key(app):
    """The app's key as an authenticator app asks to type it: base32, in groups of four."""
    key = b32encode(app.bin_key).decode()
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))
