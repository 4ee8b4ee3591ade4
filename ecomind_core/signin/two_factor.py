"""Two-factor sign-in for staff (django-otp): checking a code, and enrolling an account.

A code is either the one the staff member's authenticator app shows (a TOTP
device, all digits) or one of their single-use recovery codes (a static
device, never all digits). Each is checked only against its own kind of
device: a mistyped app code must not count as a failed attempt against the
recovery codes, which django-otp throttles after failures.

Whether a second factor is required is ``settings.ADMIN_REQUIRE_2FA``; the
admin site enforces it (ecomind_core/admin_site.py).
"""

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
    return TOTPDevice.objects.using(using).filter(user=user).exists()


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
        for kind in (TOTPDevice, StaticDevice):
            kind.objects.using(using).filter(user=user).delete()
        app = TOTPDevice.objects.using(using).create(user=user, name=APP_DEVICE_NAME, confirmed=True)
        recovery = StaticDevice.objects.using(using).create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
        codes = [recovery_code() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.using(using).bulk_create(StaticToken(device=recovery, token=code) for code in codes)
    return app, codes
