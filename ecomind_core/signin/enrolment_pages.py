"""The pages a staff member goes through with an enrolment link (enrolment_links.py).

1. ``/admin/enrol/<token>/``: the link as sent. Checked, kept in the session,
   and left at once for ``/admin/enrol/``, so the token is not in the
   address bar, the history or a ``Referer`` afterwards (Django's
   password-reset pages do the same).
2. ``/admin/enrol/``, first the account's password: checked by Django's
   ``authenticate``, so the sign-in lockout counts a wrong one and the audit
   trail records it, as on the login page.
3. Then a new authenticator key, as a QR code and as text, made on the
   server for this account (an unconfirmed device: it cannot sign in yet),
   and a box for the first code the app shows.
4. A right code makes that key the account's only one, with ten new
   recovery codes, in one transaction that writes the ``auth.enrol_totp``
   audit row; the person is signed in (with that device) and sees the
   recovery codes once, on that response.

Every page is ``never_cache``. The key and the codes are in pages only:
never in a URL, a log line or an audit row.
"""

import functools

from django.contrib.auth import authenticate, get_user_model, login
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django_otp.middleware import is_verified
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecomind_core.audit.records import SYSTEM_ORG, record
from ecomind_core.signin import two_factor
from ecomind_core.signin.audit import ENROL, RESOURCE, client, staff
from ecomind_core.signin.enrolment_links import InvalidLink, resolve
from ecomind_core.signin.qr_code import qr_code_data_uri

SESSION_LINK, SESSION_DEVICE = "ecomind_enrolment_link", "ecomind_enrolment_device"
TEMPLATES = "admin/ecomind_core/enrolment/"
#: The backend that signs the person in once enrolled: the password was checked by authenticate() already.
SIGN_IN_BACKEND = "django.contrib.auth.backends.ModelBackend"


class PageOnly(str):
    """A key or a code: printed into the page, masked wherever it is ``repr()``-ed.

    Django's template engine logs a missing variable at DEBUG level with the
    whole context, repr()-ed: with ``LOG_LEVEL=DEBUG`` the key would be in
    the log otherwise.
    """

    def __repr__(self):
        return "'(in the page only)'"


def _page(request, site, template, status=200, **context):
    context = {**site.each_context(request), "title": "Two-factor sign-in", **context}
    return render(request, TEMPLATES + template, context, status=status)


def _invalid(request, site, problem):
    return _page(request, site, "invalid.html", status=problem.status, problem=str(problem))


@method_decorator(never_cache, name="dispatch")
class OpenLinkView(View):
    """Step 1: the link as sent."""

    site = None

    def get(self, request, token):
        try:
            resolve(token)
        except InvalidLink as problem:
            return _invalid(request, self.site, problem)
        request.session[SESSION_LINK] = token
        request.session.pop(SESSION_DEVICE, None)
        return redirect(reverse(f"{self.site.name}:enrolment"))


@method_decorator(never_cache, name="dispatch")
class EnrolmentView(View):
    """Steps 2 to 4, on one address; which step is in the session."""

    site = None

    def dispatch(self, request, *args, **kwargs):
        token = request.session.get(SESSION_LINK)
        if not token:
            return _invalid(request, self.site, InvalidLink("Open the enrolment link you were sent to start.", status=404))
        try:
            self.link = resolve(token)
        except InvalidLink as problem:
            request.session.pop(SESSION_LINK, None)
            return _invalid(request, self.site, problem)
        return super().dispatch(request, *args, **kwargs)

    def pending_device(self):
        """The key this session showed, if the password was given here and no enrolment replaced it since."""
        device_id = self.request.session.get(SESSION_DEVICE)
        if device_id is None:
            return None
        return TOTPDevice.objects.filter(pk=device_id, user=self.link.user, confirmed=False).first()

    def get(self, request):
        device = self.pending_device()
        if device is None:
            return self.password_page()
        return self.scan_page(device)

    def post(self, request):
        device = self.pending_device()
        if device is None:
            return self.check_password()
        return self.confirm(device)

    def password_page(self, error=None, status=200):
        return _page(self.request, self.site, "password.html", status=status, account=self.link.user.get_username(),
                     expires=self.link.expires, error=error)

    def check_password(self):
        user = authenticate(self.request, username=self.link.user.get_username(),
                            password=self.request.POST.get("password", ""))
        if user is None or user.pk != self.link.user.pk:
            # Counted and audited as a failed sign-in by authenticate(); while locked out,
            # django-axes' middleware shows its lockout page instead of this one.
            return self.password_page(error="That is not this account's password.", status=400)
        self.request.session.cycle_key()  # a new session id once the password is proven
        self.request.session[SESSION_DEVICE] = two_factor.start(user).pk
        return redirect(self.request.path)

    def scan_page(self, device, error=None, status=200):
        return _page(self.request, self.site, "scan.html", status=status, account=self.link.user.get_username(),
                     qr_code=PageOnly(qr_code_data_uri(device.config_url)), key=PageOnly(two_factor.grouped_key(device)),
                     error=error)

    def confirm(self, device):
        code = two_factor.normalise(self.request.POST.get("otp_token", ""))
        with transaction.atomic():
            user = get_user_model().objects.select_for_update().get(pk=self.link.user.pk)
            try:
                resolve(self.link.token)  # again, under the account's lock: another tab may have used it
            except InvalidLink as problem:
                return _invalid(self.request, self.site, problem)
            device = TOTPDevice.objects.select_for_update().filter(pk=device.pk, confirmed=False).first()
            if device is None:
                return redirect(self.request.path)
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                return self.scan_page(device, status=429, error=(
                    "Too many wrong codes in a row: wait a few seconds, then type the code the app shows then."))
            if not (code.isdigit() and device.verify_token(code)):
                # django-otp throttles the device after each wrong code (1 s, 2 s, 4 s, ...).
                return self.scan_page(device, status=400, error=(
                    "That code does not match this key. Check the app shows the EcoMind entry you just added, "
                    "and that the phone's clock is right, then type the code it shows now."))
            replaced = two_factor.is_enrolled(user)
            codes = two_factor.confirm(user, device)
            record(org_id=SYSTEM_ORG, action=ENROL, resource=RESOURCE, details={
                **client(self.request, user.get_username()), "staff": staff(user), "replaced": replaced,
                "recovery_codes": len(codes), "via": "link",
            })
        for key in (SESSION_LINK, SESSION_DEVICE):
            self.request.session.pop(key, None)
        user.otp_device = device  # django-otp keeps it in the session at login: a verified session
        login(self.request, user, backend=SIGN_IN_BACKEND)
        user.is_verified = functools.partial(is_verified, user)  # what OTPMiddleware gives the next request's user
        return _page(self.request, self.site, "recovery_codes.html", account=user.get_username(), codes=list(map(PageOnly, codes)),
                     replaced=replaced, admin_url=reverse(f"{self.site.name}:index"))
