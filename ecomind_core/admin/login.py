"""The admin's sign-in form: username, password and, when required, a second-factor code.

Django reports a failed sign-in (``user_login_failed``) only when the
password is wrong. A refusal after the password was right (not a staff
account, or a wrong or missing code) is reported here the same way, so it
is audited and counts towards the lockout: otherwise whoever has a password
could try codes without limit.

With two-factor on, a wrong password and a wrong code get the same message,
so the form never tells which of the two was right.
"""

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError

from ecomind_core.signin.two_factor import verified_device

TWO_FACTOR_REFUSAL = (
    "Please enter the correct username, password and authentication code for a staff account. "
    "Note that the username and password may be case-sensitive."
)
#: ``details.reason`` of the audit row, by the refusal's code.
REASONS = {"invalid_code": "two_factor", "invalid_login": "not_staff"}


class StaffLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label="Authentication code", required=False, max_length=32, strip=True,
        help_text="From your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}),
    )

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        if settings.ADMIN_REQUIRE_2FA:
            self.error_messages = {**self.error_messages, "invalid_login": TWO_FACTOR_REFUSAL, "invalid_code": TWO_FACTOR_REFUSAL}
        else:
            del self.fields["otp_token"]

    def clean(self):
        try:
            cleaned_data = super().clean()
            if "otp_token" in self.fields:
                self.verify_code(cleaned_data.get("otp_token", ""))
        except ValidationError as refusal:
            if self.user_cache is not None:  # the password was right: Django reported nothing
                self.report_failure(REASONS.get(refusal.code, refusal.code))
            raise
        return cleaned_data

    def verify_code(self, code):
        device = verified_device(self.user_cache, code)
        if device is None:
            raise ValidationError(self.error_messages["invalid_code"], code="invalid_code")
        self.user_cache.otp_device = device  # django-otp keeps it in the session at login

    def report_failure(self, reason):
        user_login_failed.send(
            sender=__name__, credentials={"username": self.user_cache.get_username()},
            request=self.request, reason=reason,
        )
