"""Changelist search that finds a row by its exact id through an index.

Django's ``=`` search prefix is a case-insensitive match, ``UPPER(col) =
UPPER(%s)``, which no index serves: on a table of millions of rows one exact
id reads the whole table. Here an id is compared with plain equality, as
stored (an id typed in another case is a different id), so each id column's
own index answers.

Ids carry their model's prefix (``org_``, ``user_``, ``evt_``, ``audit_``:
``TextIdField.prefix``). A term with one of those prefixes is looked up only
in the columns that hold that model's ids, so ``org_...`` on the events page
is ``org_id = %s``, which the ``(org_id, ts)`` index also returns newest
first. Any other term (the enrichment worker's uuid event ids, ``system``)
is compared with every id column. A page's ``search_fields`` (organisation
names, user emails: plain field names) are matched as substrings, for a term
that is not prefixed like an id; that reads the table, as Django's own search
does. They stay in ``search_fields`` because Django's autocomplete and its
admin checks look for them there.
"""

import functools
import operator

from django.db.models import Q


class ExactIdSearchMixin:
    """Mix into a ModelAdmin (before it): exact ids by index lookups, and ``search_fields`` as substrings."""

    #: Column -> the model whose ids it holds; each is compared with plain equality.
    id_search_fields = {}

    def get_search_fields(self, request):
        # What the changelist shows a search box for; the matching is get_search_results's.
        return (*self.id_search_fields, *self.search_fields)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()  # an id pasted with stray spaces
        if not term:
            return queryset, False
        return queryset.filter(self.search_filter(term)), False

    def search_filter(self, term):
        columns = [column for column, model in self.id_search_fields.items() if term.startswith(id_prefix(model))]
        if columns:
            return any_of(Q(**{column: term}) for column in columns)
        return any_of([
            *(Q(**{column: term}) for column in self.id_search_fields),
            *(Q(**{f"{field}__icontains": term}) for field in self.search_fields),
        ])


def id_prefix(model):
    """``org_`` for Organisation: how every id the model makes begins."""
    return f"{model._meta.pk.prefix}_"


def any_of(conditions):
    return functools.reduce(operator.or_, conditions)
