"""The Daily footprint page says whether the period shown was verified, and when.

In-process (Django's test client on the pytest-django database): the page
reads the verdicts ``verify_rollups --record`` appends to audit_logs.
"""

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from ecomind_core import factories
from ecomind_core.models import DailyOrgTotal
from ecomind_core.rollups import rebuild_daily_totals
from ecomind_core.rollups.status import NOT_VERIFIED, period_verification

pytestmark = pytest.mark.django_db

FIRST, LAST = datetime.date(2026, 3, 1), datetime.date(2026, 3, 10)


@pytest.fixture
def org():
    org = factories.OrganisationFactory(name="Greenco")
    for n in range(10):
        at = datetime.datetime.combine(FIRST + datetime.timedelta(days=n), datetime.time(12), datetime.UTC)
        factories.EventFactory.create_batch(2, org_id=org.pk, ts=at)
    rebuild_daily_totals()
    return org


def page(client, org, start=FIRST, end=LAST):
    response = client.get(reverse("admin:daily_footprint"), {"org": org.pk, "start": start, "end": end})
    assert response.status_code == 200
    return response.content.decode()


def record(*args):
    """``verify_rollups --record``; True when it found the tables clean."""
    try:
        call_command("verify_rollups", "--record", *args, verbosity=0, stdout=io.StringIO())
    except SystemExit as exit_:
        return exit_.code == 0
    return True


def test_a_period_never_checked_is_not_verified(admin_client, org):
    assert "<strong>Not verified</strong>: no recorded <code>verify_rollups</code> run covers 2026-03-01 to 2026-03-10" in page(admin_client, org)


def test_a_clean_check_covering_the_period_is_shown_with_its_time(admin_client, org):
    assert record()
    shown = page(admin_client, org)
    assert "<strong>Verified</strong> on " in shown and " UTC: every daily total from 2026-03-01 to 2026-03-10 equalled" in shown


def test_a_divergent_check_names_the_days_of_the_period(admin_client, org):
    DailyOrgTotal.objects.filter(org_id=org.pk, date=FIRST + datetime.timedelta(days=4)).update(call_count=99)
    assert not record()
    shown = page(admin_client, org)
    assert "<strong>Divergent</strong> on " in shown and "1 day of this period (2026-03-05)" in shown
    # A period around the divergent day was verified clean by the same check.
    assert "<strong>Verified</strong>" in page(admin_client, org, FIRST, FIRST + datetime.timedelta(days=2))
    # Repaired and checked again: the newest verdict wins.
    call_command("repair_rollups", "--no-input", verbosity=0, stdout=io.StringIO())
    assert record()
    assert "<strong>Verified</strong>" in page(admin_client, org)


def test_only_a_check_covering_the_whole_period_counts():
    record("--since", "2026-03-05")
    assert period_verification(FIRST, LAST).state == NOT_VERIFIED
    assert period_verification(datetime.date(2026, 3, 5), LAST).clean
    record("--until", "2026-03-08")
    assert period_verification(FIRST, LAST).state == NOT_VERIFIED
    assert period_verification(FIRST, datetime.date(2026, 3, 8)).clean
