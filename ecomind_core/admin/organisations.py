"""Organisations and their users: editable, validated, every change audited.

The audit row is written in the admin's own transaction (Django wraps add,
change and delete views in one), so a change and its audit row land together
or not at all.
"""

from django.contrib import admin
from django.db import transaction

from ecomind_core.audit.records import record_staff_change, snapshot
from ecomind_core.models import CustomerUser, Organisation

from .search import ExactIdSearchMixin


class AuditedAdmin(admin.ModelAdmin):
    """Writes an audit row, with values before and after, for each add, change and delete."""

    #: ``audit_logs.resource`` for this model.
    audit_resource = None

    def audit_org_id(self, obj):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        record_staff_change(
            request.user, obj, action="change" if change else "add", resource=self.audit_resource,
            org_id=self.audit_org_id(obj), before=before, after=snapshot(obj),
        )

    def delete_model(self, request, obj):
        before, org_id = snapshot(obj), self.audit_org_id(obj)
        super().delete_model(request, obj)
        record_staff_change(request.user, obj, action="delete", resource=self.audit_resource, org_id=org_id, before=before)

    def delete_queryset(self, request, queryset):
        with transaction.atomic(using=queryset.db):
            for obj in queryset:
                self.delete_model(request, obj)


@admin.register(Organisation)
class OrganisationAdmin(ExactIdSearchMixin, AuditedAdmin):
    audit_resource = "org"
    list_display = ("name", "id", "plan", "created_at")
    list_filter = ("plan",)
    id_search_fields = {"id": Organisation}
    search_fields = ("name",)
    search_help_text = "An exact organisation id (as stored), or part of a name."
    readonly_fields = ("id",)
    fields = ("id", "name", "plan", "created_at")

    def audit_org_id(self, obj):
        return obj.pk


@admin.register(CustomerUser)
class CustomerUserAdmin(ExactIdSearchMixin, AuditedAdmin):
    audit_resource = "user"
    list_display = ("email", "name", "org", "role", "created_at")
    list_filter = ("role",)
    list_select_related = ("org",)
    # users.org_id has no index (the legacy schema has none): that one reads the table.
    id_search_fields = {"id": CustomerUser, "org_id": Organisation}
    search_fields = ("email", "name")
    search_help_text = "An exact user id or organisation id (as stored), or part of an email or name."
    autocomplete_fields = ("org",)
    readonly_fields = ("id",)
    fields = ("id", "org", "email", "name", "role", "created_at")

    def audit_org_id(self, obj):
        return obj.org_id
