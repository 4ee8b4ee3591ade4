"""The Daily footprint page: linked in the side bar, charts with axes and units, its period in the boxes, an empty period said."""

import datetime
import re

import pytest
from django.urls import reverse

from ecomind_core import factories
from ecomind_core.admin.charts import daily_bar_chart, labelled_days, number_label, round_ticks
from ecomind_core.models import FOOTPRINT

DAILY = reverse("admin:daily_footprint")


def test_round_ticks_start_at_zero_and_reach_past_the_top_in_round_steps():
    assert round_ticks(0.0537) == pytest.approx([0, 0.02, 0.04, 0.06])
    assert round_ticks(7) == [0, 2, 4, 6, 8]
    assert round_ticks(1000) == [0, 500, 1000]
    assert round_ticks(0) == [0, 1]  # a period of zeros still has a scale


def test_labelled_days_are_the_first_the_last_and_some_between():
    assert labelled_days(5) == [0, 1, 2, 3, 4]
    assert labelled_days(30) == [0, 5, 10, 15, 20, 25, 29]
    assert labelled_days(366)[0] == 0 and labelled_days(366)[-1] == 365 and len(labelled_days(366)) <= 7
    assert number_label(0.005, 0.005) == "0.005" and number_label(12000, 5000) == "12,000"


def test_a_chart_has_one_slot_per_day_and_bars_only_where_there_is_data():
    start = datetime.date(2026, 1, 1)
    chart = daily_bar_chart({start: 2.0, start + datetime.timedelta(days=9): 5.0}, start, start + datetime.timedelta(days=9), "kWh")
    assert [bar.label for bar in chart.bars] == ["2026-01-01", "2026-01-10"]
    assert [tick.label for tick in chart.y_ticks] == ["0", "2", "4", "6"]
    assert chart.x_ticks[0].label == "1 Jan 2026" and chart.x_ticks[-1].label == "10 Jan 2026"
    tallest = max(chart.bars, key=lambda bar: bar.value)
    assert chart.top <= tallest.y < chart.bottom and tallest.y + tallest.height == pytest.approx(chart.bottom)


@pytest.mark.django_db
def test_the_page_is_linked_in_the_admin_side_bar(admin_client, client, django_user_model):
    side_bar = re.search(r'<nav class="sticky" id="nav-sidebar".*?</nav>', admin_client.get(reverse("admin:ecomind_core_event_changelist")).content.decode(), re.S)
    assert side_bar and f'href="{DAILY}"' in side_bar.group(0) and ">Daily footprint<" in side_bar.group(0)
    # Staff who may not view the daily totals get no link (and no page).
    staff = django_user_model.objects.create_user("staff", password="pw-123456", is_staff=True)
    client.force_login(staff)
    assert DAILY not in client.get(reverse("admin:index")).content.decode()
    assert client.get(DAILY).status_code == 403


@pytest.fixture
def org_with_days():
    org = factories.OrganisationFactory(name="Greenco")
    last = datetime.date(2026, 3, 20)
    for days_ago in (0, 3, 10):
        factories.DailyOrgTotalFactory(org_id=org.pk, date=last - datetime.timedelta(days=days_ago), call_count=4)
    return org, last


def input_value(page, name):
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)


@pytest.mark.django_db
def test_the_default_period_is_shown_in_the_date_boxes(admin_client, org_with_days):
    org, last = org_with_days
    for params in ({}, {"org": org.pk}):
        page = admin_client.get(DAILY, params).content.decode()
        assert 'value="2026-03-20"' in input_value(page, "end"), params
        assert 'value="2026-02-19"' in input_value(page, "start"), params  # 30 days to the last with data


@pytest.mark.django_db
def test_charts_have_a_value_axis_with_their_unit_and_a_date_axis(admin_client, org_with_days):
    org, _ = org_with_days
    page = admin_client.get(DAILY, {"org": org.pk}).content.decode()
    charts = re.findall(r'<figure class="daily-chart">.*?</figure>', page, re.S)
    assert len(charts) == len(FOOTPRINT)
    for chart, (_, unit) in zip(charts, FOOTPRINT.values()):
        assert f'text-anchor="end">{unit}</text>' in chart and f"in {unit}</figcaption>" in chart
        assert chart.count('<line class="grid"') >= 3 and chart.count("<rect ") == 3
        dates = re.findall(r'text-anchor="middle">([^<]+)</text>', chart)
        assert dates[0] == "19 Feb 2026" and dates[-1] == "20 Mar 2026" and len(dates) >= 4


@pytest.mark.django_db
def test_an_empty_period_says_so_instead_of_blank_charts(admin_client, org_with_days):
    org, _ = org_with_days
    page = admin_client.get(DAILY, {"org": org.pk, "start": "2020-01-01", "end": "2020-01-31"}).content.decode()
    assert "No footprint recorded: Greenco made no calls in this period." in page
    assert 'class="daily-chart"' not in page and 'id="daily-totals"' not in page
    assert 'value="2020-01-01"' in input_value(page, "start") and 'value="2020-01-31"' in input_value(page, "end")
