"""Paging a newest-first changelist by position, not by page number (keyset paging).

Page *n* of Django's paginator is ``OFFSET (n - 1) * per_page``: the database
reads every row before it, so the last page of 20 million rows reads 20
million rows; and with an estimated row count (``pagination.py``) the last
page numbers can even lie beyond the real end, and open empty. Here a page
is the next rows after a position, ``(ts, id)`` of a row on the page before:

* **Newest** is the top of the timestamp index, read backwards;
* **Older** reads on from the last row shown (``ts <= %s`` is the index
  condition), and **Newer** reads back from the first row shown;
* **Oldest** reads the oldest rows from the other end of the same index,
  in ascending order, and shows them newest first.

Each reads at most ``per_page + 1`` rows through the index, wherever it is
in the table, plus (to know whether the link back leads anywhere) at most
one row in the other direction. A link is only drawn when a row lies
behind it, and a position whose rows have gone since (purged) opens the
nearest page that has rows, so no link leads to an empty page.

The order is ``ts DESC NULLS FIRST, id DESC``: what PostgreSQL's ascending
index on ``ts`` gives read backwards, so rows without a time (the legacy
schema allows them in ``audit_logs``) come first, ordered by id.
"""

import datetime
from dataclasses import dataclass

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db.models import F, Q

#: Query parameters: read on from this position; the oldest rows.
NEWER, OLDER, OLDEST = "newer", "older", "oldest"
POSITION_PARAMS = (NEWER, OLDER, OLDEST)


@dataclass(frozen=True)
class Position:
    """Where a row stands in the order: its timestamp (or None) and its primary key."""

    ts: datetime.datetime | None
    pk: str

    def encode(self):
        return f"{self.ts.isoformat() if self.ts else ''}|{self.pk}"

    @classmethod
    def decode(cls, text):
        ts, separator, pk = text.partition("|")
        if not separator or not pk:
            raise IncorrectLookupParameters(f"not a position: {text!r}")
        try:
            return cls(datetime.datetime.fromisoformat(ts) if ts else None, pk)
        except ValueError as exc:
            raise IncorrectLookupParameters(f"not a position: {text!r}") from exc


@dataclass
class Page:
    rows: list
    #: Positions the Newer and Older links read on from; None where no row lies beyond.
    newer: Position | None = None
    older: Position | None = None


class Keyset:
    """Newest-first pages of a model's rows by ``(field, pk)``."""

    def __init__(self, model, field_name):
        self.field = field_name
        self.nullable = model._meta.get_field(field_name).null

    def position(self, row):
        return Position(getattr(row, self.field), row.pk)

    def newest_first(self, queryset):
        return queryset.order_by(F(self.field).desc(nulls_first=True), F("pk").desc())

    def oldest_first(self, queryset):
        return queryset.order_by(F(self.field).asc(nulls_last=True), F("pk").asc())

    def beyond(self, queryset, position, *, older):
        """The rows after ``position`` going older (or newer), in that order, as querysets to read in turn.

        Each keeps ``field`` in a plain range (``<=``/``>=``), which the index
        serves; rows without a time sit at the newest end, so going newer from
        a timed row reaches them last, in a query of their own.
        """
        f, ts, pk = self.field, position.ts, position.pk
        if older and ts is None:
            return [self.newest_first(queryset.filter(Q(**{f"{f}__isnull": True, "pk__lt": pk}) | Q(**{f"{f}__isnull": False})))]
        if older:
            return [self.newest_first(queryset.filter(Q(**{f"{f}__lte": ts}), Q(**{f"{f}__lt": ts}) | Q(pk__lt=pk)))]
        if ts is None:
            return [self.oldest_first(queryset.filter(**{f"{f}__isnull": True, "pk__gt": pk}))]
        timed = self.oldest_first(queryset.filter(Q(**{f"{f}__gte": ts}), Q(**{f"{f}__gt": ts}) | Q(pk__gt=pk)))
        return [timed, self.oldest_first(queryset.filter(**{f"{f}__isnull": True}))] if self.nullable else [timed]

    def page(self, queryset, per_page, *, newer=None, older=None, oldest=False):
        """The page the query string asks for: the newest, one read on from a position, or the oldest."""
        if older is not None:
            rows = take(self.beyond(queryset, older, older=True), per_page + 1)
            if not rows:  # the rows beyond have gone since the link was drawn
                return self.page(queryset, per_page, oldest=True)
            return self.page_of(queryset, rows[:per_page], older=len(rows) > per_page)
        if newer is not None:
            rows = take(self.beyond(queryset, newer, older=False), per_page + 1)
            if len(rows) <= per_page:  # the newest rows: show the newest page, full
                return self.page(queryset, per_page)
            return self.page_of(queryset, rows[:per_page][::-1], newer=True)
        if oldest:
            rows = take([self.oldest_first(queryset)], per_page + 1)
            return self.page_of(queryset, rows[:per_page][::-1], newer=len(rows) > per_page, older=False)
        rows = take([self.newest_first(queryset)], per_page + 1)
        return self.page_of(queryset, rows[:per_page], newer=False, older=len(rows) > per_page)

    def page_of(self, queryset, rows, *, newer=None, older=None):
        """``rows`` (newest first) as a page; a direction not known yet is looked up, one row at most."""
        if not rows:
            return Page(rows)
        first, last = self.position(rows[0]), self.position(rows[-1])
        if newer is None:
            newer = bool(take(self.beyond(queryset, first, older=False), 1))
        if older is None:
            older = bool(take(self.beyond(queryset, last, older=True), 1))
        return Page(rows, newer=first if newer else None, older=last if older else None)


def take(querysets, limit):
    """Up to ``limit`` rows from ``querysets``, read in turn."""
    rows = []
    for queryset in querysets:
        if len(rows) < limit:
            rows += queryset[: limit - len(rows)]
    return rows


class KeysetChangeList(ChangeList):
    """Django's changelist with keyset pages (see above) instead of numbered ones.

    The row count comes from the admin's paginator (``CappedCountPaginator``:
    a planner estimate on big tables), only to say roughly how many rows
    there are; no page depends on it.
    """

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # As Django does with the page number: a new search starts from the newest rows.
        for name in POSITION_PARAMS:
            self.params.pop(name, None)

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        for name in POSITION_PARAMS:
            lookup_params.pop(name, None)
        return lookup_params

    def get_query_string(self, new_params=None, remove=None):
        # Filter, search and page links all start from the newest rows unless they say otherwise.
        return super().get_query_string(new_params, [*(remove or []), *POSITION_PARAMS])

    def get_results(self, request):
        keyset = Keyset(self.model, self.model_admin.keyset_field)
        newer, older = (request.GET.get(name) for name in (NEWER, OLDER))
        self.keyset_page = keyset.page(
            self.queryset, self.list_per_page, oldest=OLDEST in request.GET,
            newer=Position.decode(newer) if newer is not None else None,
            older=Position.decode(older) if older is not None else None,
        )
        self.paginator = self.model_admin.get_paginator(request, self.queryset, self.list_per_page)
        self.result_count = self.paginator.count
        self.result_list = self.keyset_page.rows
        self.full_result_count, self.show_full_result_count, self.show_admin_actions = None, False, True
        self.can_show_all, self.multi_page = False, bool(self.keyset_page.newer or self.keyset_page.older)
        self.page_links = self.links()

    def links(self):
        """``(label, url or None)`` for Newest, Newer, Older and Oldest; None where no row lies that way."""
        newer, older = self.keyset_page.newer, self.keyset_page.older
        return [
            ("« Newest", newer and self.get_query_string()),
            ("‹ Newer", newer and self.get_query_string({NEWER: newer.encode()})),
            ("Older ›", older and self.get_query_string({OLDER: older.encode()})),
            ("Oldest »", older and self.get_query_string({OLDEST: ""})),
        ]

    def count_text(self):
        """How many rows, said as precisely as it is known: ``about 2,000,000 audit logs``."""
        count, opts = self.result_count, self.opts
        noun = opts.verbose_name if count == 1 else opts.verbose_name_plural
        if self.paginator.estimate is not None:
            return f"about {count:,} {noun}"
        if count > self.paginator.CAP:
            return f"more than {self.paginator.CAP:,} {noun}"
        return f"{count:,} {noun}"


class KeysetPagingMixin:
    """Mix into a ModelAdmin (before it): newest first by ``keyset_field``, paged by position.

    Columns are not sortable: any other order would be a sort of the whole
    table, and its pages would be numbered again.
    """

    keyset_field = "ts"
    sortable_by = ()
    change_list_template = "admin/ecomind_core/keyset_change_list.html"

    def get_changelist(self, request, **kwargs):
        return KeysetChangeList
