"""How long each admin page takes: ``ecomind_admin_request_duration_seconds{page, method}``.

``page`` is the URL's name in the admin (``ecomind_core_auditlog_changelist``,
``daily_footprint``, ``schema_health``...), never the path, so the number of
series stays fixed whatever ids staff open. Requests the stack answers
before any admin view (a redirect to HTTPS, a refused ``Host``) are not
admin pages and are not timed.

Under gunicorn each worker is a process of its own: ``gunicorn.conf.py``
points prometheus-client's multiprocess mode at a directory it empties at
start, so a scrape that one worker answers reports every worker's requests.
"""

from prometheus_client import Histogram, disable_created_metrics

# No "_created" series: gunicorn's multiprocess mode has none, and one
# server should expose the same series whichever way it runs.
disable_created_metrics()

#: Seconds; the admin pages measure 10-30 ms on the benchmarks' data, so the fine buckets are at the low end.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

ADMIN_REQUEST_DURATION = Histogram(
    "ecomind_admin_request_duration_seconds", "Time to answer a request for an admin page, by page (URL name) and method.",
    ["page", "method"], buckets=BUCKETS, registry=None,  # put into each scrape's registry (endpoint.py)
)


def observe(request, seconds):
    """Count one answered request, if it reached an admin page."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.namespace != "admin":
        return
    ADMIN_REQUEST_DURATION.labels(page=match.url_name or match.view_name, method=request.method).observe(seconds)
