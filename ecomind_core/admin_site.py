"""EcoMind's admin site: Django's, plus the pages that are not one model's changelist.

The four daily tables have composite primary keys, which Django's admin
cannot register; their read-only Daily footprint page is listed here with
the EcoMind models, so it shows on the index and in the side bar like any
other, for whoever may view the daily totals.

It is also where the second factor is enforced: with
``ADMIN_REQUIRE_2FA`` on, only a session signed in with a code from the
staff member's device gets in (django-otp's ``OTPAdminSite`` rule), whatever
else logged the account in.
"""

from django.conf import settings
from django.contrib import admin
from django.urls import path, reverse


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

        daily = self.admin_view(DailyFootprintView.as_view(site=self))
        return [path("ecomind/daily/", daily, name="daily_footprint"), *super().get_urls()]

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if not request.user.has_perm("ecomind_core.view_dailyorgtotal"):
            return app_list
        for app in app_list:
            if app["app_label"] == "ecomind_core":
                app["models"].append(self.daily_footprint_entry())
                app["models"].sort(key=lambda entry: entry["name"])
        return app_list

    def daily_footprint_entry(self):
        return {
            "model": None, "name": "Daily footprint", "object_name": "DailyFootprint",
            "perms": {"view": True}, "admin_url": reverse(f"{self.name}:daily_footprint"), "add_url": None,
            "view_only": True,
        }
