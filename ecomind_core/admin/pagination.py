"""A changelist paginator that never counts a whole big table.

Django's admin runs ``SELECT COUNT(*)`` on every page view; on a table of
hundreds of millions of rows that is a full scan. Unfiltered, this paginator
takes PostgreSQL's planner estimate (``pg_class.reltuples``); filtered, it
counts at most ``CAP + 1`` matching rows.
"""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    CAP = 10_000

    @cached_property
    def count(self):
        queryset = self.object_list
        estimate = self._estimate(queryset)
        if estimate is not None and estimate > self.CAP:
            return estimate
        return queryset[: self.CAP + 1].count()

    @staticmethod
    def _estimate(queryset):
        if queryset.query.where or queryset.query.distinct:
            return None
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [queryset.model._meta.db_table]
            )
            row = cursor.fetchone()
        return row[0] if row and row[0] is not None and row[0] >= 0 else None
