"""The audit log's "Sign-ins" filter: staff sign-ins, failures, sign-outs, lockouts and their commands."""

from django.contrib import admin

from ecomind_core.signin.audit import ACTIONS


class SignInFilter(admin.SimpleListFilter):
    title = "sign-ins"
    parameter_name = "sign_ins"

    def lookups(self, request, model_admin):
        return [("yes", "Sign-ins, failures and lockouts")]

    def queryset(self, request, queryset):
        return queryset.filter(action__in=ACTIONS) if self.value() == "yes" else queryset
