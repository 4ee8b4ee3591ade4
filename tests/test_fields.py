"""The field types store what the legacy schema stores, and hand Python what it expects."""

import datetime
import re

import pytest
from django.db import NotSupportedError, connection

from ecomind_core import factories, models
from ecomind_core.fields import EnumField
from tests.dbtools import ROOT


def raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@pytest.mark.django_db
def test_timestamps_are_naive_utc_in_the_database_and_aware_utc_in_python():
    paris_noon = datetime.datetime(2026, 7, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    org = factories.OrganisationFactory(created_at=paris_noon)
    assert raw("SELECT created_at::text, pg_typeof(created_at)::text FROM orgs WHERE id = %s", [org.id]) == (
        "2026-07-01 10:00:00", "timestamp without time zone")
    loaded = models.Organisation.objects.get(pk=org.pk).created_at
    assert loaded == paris_noon and loaded.tzinfo == datetime.UTC
    assert models.Organisation.objects.filter(created_at__gte=paris_noon - datetime.timedelta(seconds=1)).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["123", {"nested": [1, "two", None]}, [1, 2], "plain text", 4.5, True])
def test_json_is_stored_as_json_and_decoded_exactly_once(value):
    row = factories.AuditLogFactory(details=value)
    assert raw("SELECT pg_typeof(details)::text FROM audit_logs WHERE id = %s", [row.id]) == ("json",)
    assert models.AuditLog.objects.get(pk=row.pk).details == value


@pytest.mark.django_db
def test_ids_carry_the_legacy_prefixes():
    shapes = {
        factories.OrganisationFactory().id: r"org_[0-9a-f]{12}",
        factories.CustomerUserFactory().id: r"user_[0-9a-f]{12}",
        factories.EventFactory().id: r"evt_[0-9a-f]{24}",
        factories.AuditLogFactory().id: r"audit_[0-9a-f]{24}",
    }
    for value, pattern in shapes.items():
        assert re.fullmatch(pattern, value), value


def enum_labels(name):
    return raw("SELECT array_agg(enumlabel ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = %s::regtype", [name])[0]


def plan_field(choices):
    field = EnumField(enum_name="plantype", choices=choices, null=True, blank=True)
    field.set_attributes_from_name("plan")
    field.model = models.Organisation
    return field


@pytest.mark.django_db
def test_enum_labels_grow_at_the_end_and_are_never_dropped_silently():
    old = models.Organisation._meta.get_field("plan")
    grown = plan_field([*old.choices, ("team", "Team")])
    with connection.schema_editor() as editor:  # rolled back with the test's transaction
        editor.alter_field(models.Organisation, old, grown)
    assert enum_labels("plantype") == ["free", "pro", "enterprise", "team"]
    with pytest.raises(NotSupportedError, match="can only gain labels at the end"):
        with connection.schema_editor() as editor:
            editor.alter_field(models.Organisation, grown, plan_field(old.choices[:2]))


@pytest.mark.django_db
def test_every_factory_makes_a_valid_row():
    made = [
        factories.OrganisationFactory(), factories.CustomerUserFactory(), factories.EventFactory(),
        factories.DailyOrgTotalFactory(), factories.DailyUserTotalFactory(), factories.DailyProviderTotalFactory(),
        factories.DailyModelTotalFactory(), factories.AuditLogFactory(),
    ]
    for row in made:
        row.full_clean()
        assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("kwargs", [{"prefix": ""}, {"prefix": "org-x"}, {"prefix": "evt", "hex_digits": 8}])
def test_a_text_id_field_refuses_a_bad_prefix_or_length_when_declared(kwargs):
    """The mistake shows where the model is written, not at the first save."""
    from ecomind_core.fields import TextIdField

    with pytest.raises(ValueError, match="TextIdField"):
        TextIdField(**kwargs)


def test_docs_schema_names_every_index_of_the_models():
    from django.apps import apps

    text = (ROOT / "docs" / "schema.md").read_text()
    names = {index.name for model in apps.get_app_config("ecomind_core").get_models() for index in model._meta.indexes}
    assert names and {name for name in names if name not in text} == set()
