"""EcoMind's admin site: Django's, plus the pages that are not one model's changelist.

The four daily tables have composite primary keys, which Django's admin
cannot register; their read-only Daily footprint page is listed here with
the EcoMind models, so it shows on the index and in the side bar like any
other, for whoever may view the daily totals. So is the Schema health page,
for whoever may view the audit log (its verdicts are audit rows).

django-otp's two plugins (authenticator apps, recovery codes) are two
Django apps, which the admin would list as "OTP_TOTP" and "OTP_STATIC":
staff see them as one group, "Two-factor"; superusers also find there the
page that issues enrolment links. The enrolment pages themselves are under
``enrol/``, open before signing in (ecomind_core/signin/enrolment_pages.py).

It is also where the second factor is enforced: with
``ADMIN_REQUIRE_2FA`` on, only a session signed in with a code from the
staff member's device gets in (django-otp's ``OTPAdminSite`` rule), whatever
else logged the account in.
"""

from django.conf import settings
from django.contrib import admin
from django.urls import path, reverse

#: django-otp's apps, shown as one group in the admin's index and side bar.
TWO_FACTOR_APPS = ("otp_totp", "otp_static")
TWO_FACTOR_GROUP = "Two-factor"


class EcoMindAdminSite(admin.AdminSite):
    site_header = "EcoMind administration"
    site_title = "EcoMind admin"
    login_template = "admin/ecomind_core/login.html"

    @property
    def login_form(self):
        from ecomind_core.admin.login import StaffLoginForm

        return StaffLoginForm

    def has_permission(self, request):
        return super().has_permission(request) and (not settings.ADMIN_REQUIRE_2FA or request.user.is_verified())

    def get_urls(self):
        from ecomind_core.admin.daily import DailyFootprintView
        from ecomind_core.admin.enrolment_links import IssueEnrolmentLinkView
        from ecomind_core.admin.schema_health import SchemaHealthView
        from ecomind_core.signin.enrolment_pages import EnrolmentView, OpenLinkView

        daily = self.admin_view(DailyFootprintView.as_view(site=self))
        schema = self.admin_view(SchemaHealthView.as_view(site=self))
        issue_link = self.admin_view(IssueEnrolmentLinkView.as_view(site=self))
        return [
            path("ecomind/daily/", daily, name="daily_footprint"),
            path("ecomind/schema-health/", schema, name="schema_health"),
            path("two-factor/enrolment-links/", issue_link, name="enrolment_link_issue"),
            # Before signing in: the person has a password and a link, no second factor yet.
            path("enrol/<str:token>/", OpenLinkView.as_view(site=self), name="enrolment_open"),
            path("enrol/", EnrolmentView.as_view(site=self), name="enrolment"),
            *super().get_urls(),
        ]

    def get_app_list(self, request, app_label=None):
        app_list = self.group_two_factor(super().get_app_list(request, app_label))
        if request.user.is_superuser:
            for app in app_list:
                if app["name"] == TWO_FACTOR_GROUP:
                    app["models"] = sorted([*app["models"], self.enrolment_links_entry()], key=lambda model: model["name"])
        pages = [entry for permission, entry in (
            ("ecomind_core.view_dailyorgtotal", self.daily_footprint_entry),
            ("ecomind_core.view_auditlog", self.schema_health_entry),
        ) if request.user.has_perm(permission)]
        for app in app_list:
            if app["app_label"] == "ecomind_core" and pages:
                app["models"].extend(entry() for entry in pages)
                app["models"].sort(key=lambda entry: entry["name"])
        return app_list

    @staticmethod
    def group_two_factor(app_list):
        """django-otp's apps as one "Two-factor" group, sorted by name as Django sorts apps."""
        plugins = [app for app in app_list if app["app_label"] in TWO_FACTOR_APPS]
        if not plugins:
            return app_list
        models = sorted((model for app in plugins for model in app["models"]), key=lambda model: model["name"])
        group = {**plugins[0], "name": TWO_FACTOR_GROUP, "models": models}
        others = [app for app in app_list if app["app_label"] not in TWO_FACTOR_APPS]
        return sorted([*others, group], key=lambda app: app["name"].lower())

    def enrolment_links_entry(self):
        """Superusers issue a staff member's enrolment link here (ecomind_core/admin/enrolment_links.py)."""
        url = reverse(f"{self.name}:enrolment_link_issue")
        return {
            "model": None, "name": "Enrolment links", "object_name": "EnrolmentLink",
            "perms": {"add": True}, "admin_url": url, "add_url": url, "view_only": False,
        }

    def daily_footprint_entry(self):
        return self.page_entry("Daily footprint", "DailyFootprint", "daily_footprint")

    def schema_health_entry(self):
        return self.page_entry("Schema health", "SchemaHealth", "schema_health")

    def page_entry(self, name, object_name, url_name):
        return {
            "model": None, "name": name, "object_name": object_name,
            "perms": {"view": True}, "admin_url": reverse(f"{self.name}:{url_name}"), "add_url": None,
            "view_only": True,
        }
