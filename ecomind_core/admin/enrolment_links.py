"""The admin's "Enrolment links" page: a superuser issues a staff member's two-factor enrolment link.

The same link as ``manage.py enrolment_link`` prints (signin/enrolment_links.py),
shown once on the answer to the form (nothing stores it), with an
``auth.enrolment_link`` audit row naming who issued it for whom and until
when; never the link itself, which opens the enrolment to whoever also has
the account's password.
"""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.generic import FormView

from ecomind_core.signin.audit import staff
from ecomind_core.signin.client_address import client_address
from ecomind_core.signin.enrolment_links import issue, record_issued
from ecomind_core.signin.enrolment_pages import PageOnly
from ecomind_core.signin.two_factor import is_enrolled

#: The longest a link may be valid, in hours: two weeks covers a holiday, not a forgotten link.
MAX_HOURS = 24 * 14


class IssueForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username"),
        to_field_name="username", help_text="The staff account that will enrol. Its current key and recovery codes "
                                            "keep working until the new ones are confirmed.",
    )
    hours = forms.IntegerField(min_value=1, max_value=MAX_HOURS, help_text="How long the link works.")


@method_decorator(never_cache, name="dispatch")
class IssueEnrolmentLinkView(FormView):
    site = None
    form_class = IssueForm
    template_name = "admin/ecomind_core/enrolment/issue.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"hours": settings.ADMIN_ENROLMENT_LINK_HOURS, "account": self.request.GET.get("account")}

    def get_context_data(self, **kwargs):
        return {**self.site.each_context(self.request), "title": "Issue a two-factor enrolment link", **super().get_context_data(**kwargs)}

    def form_valid(self, form):
        link = issue(form.cleaned_data["account"], form.cleaned_data["hours"])
        record_issued(link, issued_by=staff(self.request.user), address=client_address(self.request))
        url = PageOnly(self.request.build_absolute_uri(reverse(f"{self.site.name}:enrolment_open", args=[link.token])))
        return TemplateResponse(self.request, "admin/ecomind_core/enrolment/issued.html", {
            **self.get_context_data(), "title": "Enrolment link issued", "url": url,
            "account": link.user.get_username(), "enrolled": is_enrolled(link.user), "expires": link.expires,
        })
