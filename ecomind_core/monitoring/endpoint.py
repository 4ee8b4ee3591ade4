"""``GET /metrics``: the Prometheus text format, for whoever holds the bearer token.

Prometheus scrapes each replica at its own address over plain HTTP, with a
``Host`` that is a pod's IP: like the probes, this middleware comes first in
``MIDDLEWARE`` and answers ``/metrics`` before the HTTPS redirect and the
``ALLOWED_HOSTS`` check (which still guard everything else). It is not
public:

* no token configured (neither ``METRICS_TOKEN`` nor ``METRICS_TOKEN_FILE``):
  404, as if there were no such page;
* a token configured: ``Authorization: Bearer <token>`` must match it
  (compared in constant time); otherwise 401.

The token is read once, when the server starts (a bad configuration stops
the server with one line, as for ``SECRET_KEY``), and is kept out of
Django's settings, so ``diffsettings`` and error pages never hold it.

The same middleware times every request that reaches an admin page
(``admin_latency.py``).
"""

import hmac
import os
import time

from django.http import HttpResponse, HttpResponseNotFound
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder

from ecomind.config import ConfigError, read_secret

from . import admin_latency
from .collector import DatabaseCollector

PATH = "/metrics"
METHODS = ("GET", "HEAD")
#: Shorter tokens are refused at start-up: anyone who reaches a pod could guess them.
MIN_TOKEN_LENGTH = 16


def configured_token():
    """The token from ``METRICS_TOKEN`` / ``METRICS_TOKEN_FILE``, or None: /metrics then answers 404."""
    token = read_secret("METRICS_TOKEN")
    if token is not None and len(token.strip()) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"METRICS_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters: use a random one "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')."
        )
    return token.strip() if token else None


def presented_token(request):
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def scrape_registry(using="default"):
    """A registry for one scrape: the database's metrics and the admin pages' latency."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(using))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every gunicorn worker's histogram, from their files
    else:
        registry.register(admin_latency.ADMIN_REQUEST_DURATION)
    return registry


class MonitoringMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.token = configured_token()

    def __call__(self, request):
        if request.path_info == PATH and request.method in METHODS:
            return self.metrics(request)
        started = time.perf_counter()
        response = self.get_response(request)
        admin_latency.observe(request, time.perf_counter() - started)
        return response

    def metrics(self, request):
        if self.token is None:
            return _logged(HttpResponseNotFound(b"Not Found", content_type="text/plain"))
        presented = presented_token(request)
        if presented is None or not hmac.compare_digest(presented.encode(), self.token.encode()):
            response = HttpResponse(b"A bearer token is required.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return _logged(response)
        encoder, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
        response = HttpResponse(encoder(scrape_registry()), content_type=content_type)
        response["Cache-Control"] = "no-store"
        if request.method == "HEAD":
            response.content = b""
        return response


def _logged(response):
    # A 401 or 404 here is in the access log already; Django would log it again as a warning.
    response._has_been_logged = True
    return response
