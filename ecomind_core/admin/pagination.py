"""A changelist paginator that never counts a whole big table.

Django's admin runs ``SELECT COUNT(*)`` for every page view; on a table of
hundreds of millions of rows that is a full scan, filtered or not. This
paginator asks PostgreSQL's planner for its row estimate of the changelist's
own query (``EXPLAIN``, no rows read) and counts exactly only when that
estimate is small (at most ``CAP`` rows), and then at most ``CAP + 1`` rows.
Past ``CAP`` the count is approximate: the big changelists page by position
(``keyset.py``), not by page number, and only say "about N rows".
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    CAP = 10_000

    @cached_property
    def estimate(self):
        """The planner's estimate when it is above ``CAP``, else None (then ``count`` is exact, up to CAP + 1)."""
        estimate = planner_estimate(self.object_list)
        return estimate if estimate is not None and estimate > self.CAP else None

    @cached_property
    def count(self):
        if self.estimate is not None:
            return self.estimate
        return self.object_list[: self.CAP + 1].count()


def planner_estimate(queryset):
    """PostgreSQL's estimate of how many rows ``queryset`` returns, or None elsewhere."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # the backend reads json as text
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
