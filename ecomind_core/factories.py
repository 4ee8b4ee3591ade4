"""factory-boy factories for every model (tests, benchmarks and demo data)."""

import datetime
import random

import factory
from django.utils import timezone

from ecomind_core import models

PROVIDERS = {
    "openai": ["gpt-4o", "gpt-4o-mini"],
    "anthropic": ["claude-sonnet", "claude-haiku"],
    "google": ["gemini-pro", "gemini-flash"],
}
REGIONS = ["us-east-1", "eu-west-1", "eu-north-1", "ap-southeast-2"]


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    plan = factory.Iterator([choice for choice, _ in models.Plan.choices])


class CustomerUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CustomerUser

    org = factory.SubFactory(OrganisationFactory)
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    role = factory.Iterator([choice for choice, _ in models.Role.choices])


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Event

    org_id = factory.LazyFunction(lambda: OrganisationFactory().id)
    user_id = factory.Sequence(lambda n: f"user_{n:012x}")
    provider = factory.Iterator(sorted(PROVIDERS))
    model = factory.LazyAttribute(lambda o: random.choice(PROVIDERS.get(o.provider, ["unknown"])))
    tokens_in = factory.LazyFunction(lambda: random.randint(10, 4000))
    tokens_out = factory.LazyFunction(lambda: random.randint(10, 2000))
    node_type = "gpu-a100"
    region = factory.Iterator(REGIONS)
    kwh = factory.LazyAttribute(lambda o: round((o.tokens_in + o.tokens_out) * 2.5e-6, 9))
    water_l = factory.LazyAttribute(lambda o: round(o.kwh * 1.8, 9))
    co2_kg = factory.LazyAttribute(lambda o: round(o.kwh * 0.4, 9))
    ts = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(minutes=random.randint(0, 60 * 24 * 30)))
    source = factory.Iterator(["gateway", "extension"])
    metadata = factory.LazyAttribute(lambda o: {"tokens": o.tokens_in + o.tokens_out, "cached": False})


class _DailyFactory(factory.django.DjangoModelFactory):
    date = factory.Sequence(lambda n: datetime.date(2026, 1, 1) + datetime.timedelta(days=n))
    org_id = "org_000000000001"
    call_count = factory.LazyFunction(lambda: random.randint(1, 500))
    kwh = factory.LazyAttribute(lambda o: o.call_count * 0.004)
    water_l = factory.LazyAttribute(lambda o: o.kwh * 1.8)
    co2_kg = factory.LazyAttribute(lambda o: o.kwh * 0.4)


class DailyOrgTotalFactory(_DailyFactory):
    class Meta:
        model = models.DailyOrgTotal


class DailyUserTotalFactory(_DailyFactory):
    class Meta:
        model = models.DailyUserTotal

    user_id = "user_000000000001"


class DailyProviderTotalFactory(_DailyFactory):
    class Meta:
        model = models.DailyProviderTotal

    provider = "openai"


class DailyModelTotalFactory(_DailyFactory):
    class Meta:
        model = models.DailyModelTotal

    provider = "openai"
    model = "gpt-4o"


class AuditLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.AuditLog

    org_id = factory.LazyFunction(lambda: OrganisationFactory().id)
    user_id = factory.Sequence(lambda n: f"user_{n:012x}")
    action = factory.Iterator(["login", "export", "update", "invite"])
    resource = factory.Iterator(["org", "user", "report", "api_key"])
    details = factory.LazyAttribute(lambda o: {"ip": "203.0.113.7", "action": o.action})
    ts = factory.LazyFunction(timezone.now)
