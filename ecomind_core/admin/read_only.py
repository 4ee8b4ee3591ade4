"""Admin behaviour shared by the pages staff may look at but never change."""

from django.contrib import admin

from .pagination import CappedCountPaginator


class ReadOnlyAdminMixin:
    """No add, change or delete for anyone, superusers included; fast changelists."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    # Facet counts would count every filter value over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
