"""Read-only pages for the four daily tables.

Django's admin cannot register models with a composite primary key, so the
daily roll-ups get one admin view of their own: a chosen organisation's daily
kWh, water and CO2 (with a chart), and the same period per provider and per
model. Staff with view rights on the daily totals (superusers, Auditors).
"""

import datetime

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Sum
from django.views.generic import TemplateView

from ecomind_core.models import FOOTPRINT, DailyModelTotal, DailyOrgTotal, DailyProviderTotal, DailyTotals, Organisation
from ecomind_core.rollups.status import period_verification

from .charts import daily_bar_chart

DEFAULT_DAYS = 30
MAX_DAYS = 366
MEASURES = DailyTotals.MEASURES


class PeriodForm(forms.Form):
    org = forms.ChoiceField(label="Organisation")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].choices = [(o.pk, str(o)) for o in Organisation.objects.order_by("name")[:1000]]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        if start and end and (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        return data


def _period(org_id, start, end):
    """The requested period, or the last DEFAULT_DAYS days that have data."""
    if end is None:
        end = DailyOrgTotal.objects.filter(org_id=org_id).aggregate(last=Max("date"))["last"] or datetime.date.today()
    if start is None:
        start = end - datetime.timedelta(days=DEFAULT_DAYS - 1)
    return start, end


def _sums(queryset, *keys):
    return queryset.values(*keys).annotate(**{m: Sum(m) for m in MEASURES}).order_by("-kwh")


class DailyFootprintView(TemplateView):
    template_name = "admin/ecomind_core/daily_footprint.html"
    site = None  # the admin site serving the page (EcoMindAdminSite.get_urls)

    def get_context_data(self, **kwargs):
        request = self.request
        if not request.user.has_perm("ecomind_core.view_dailyorgtotal"):
            raise PermissionDenied
        context = super().get_context_data(**kwargs)
        context.update(self.site.each_context(request), title="Daily footprint")
        form = PeriodForm(request.GET or None)
        if not form.fields["org"].choices:
            return {**context, "form": form, "empty": True}
        if not request.GET:
            org_id, start, end = form.fields["org"].choices[0][0], None, None
        elif form.is_valid():
            org_id, start, end = form.cleaned_data["org"], form.cleaned_data["start"], form.cleaned_data["end"]
        else:
            return {**context, "form": form}
        start, end = _period(org_id, start, end)
        # The boxes show the period shown, also when it is the default one.
        form = PeriodForm(initial={"org": org_id, "start": start, "end": end})
        in_period = {"org_id": org_id, "date__range": (start, end)}
        days = list(DailyOrgTotal.objects.filter(**in_period).order_by("date").values("date", *MEASURES))
        context.update(
            form=form, org=Organisation.objects.filter(pk=org_id).first(), start=start, end=end, days=days,
            totals={m: sum(d[m] or 0 for d in days) for m in MEASURES},
            providers=_sums(DailyProviderTotal.objects.filter(**in_period), "provider"),
            models=_sums(DailyModelTotal.objects.filter(**in_period), "provider", "model"),
            rollup_verification=period_verification(start, end),
            charts=[
                (title, daily_bar_chart({d["date"]: d[measure] for d in days}, start, end, unit))
                for measure, (title, unit) in FOOTPRINT.items()
            ],
        )
        return context
