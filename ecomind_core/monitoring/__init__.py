"""Monitoring: what an on-call engineer's Prometheus and the staff's Schema health page read.

* ``verdicts.py``: ``verify_schema --record`` stores its verdict, with its
  findings, as an audit row; the newest ones are read back through the
  ``(action, ts)`` index.
* ``collector.py``: the database-derived metrics of one scrape, in a fixed
  number of index lookups (schema and roll-up verdicts, pending migrations,
  worker lag, events per minute, sign-in failures and lockouts).
* ``admin_latency.py``: how long each admin page takes (a histogram, shared
  by gunicorn's workers through prometheus-client's multiprocess mode).
* ``endpoint.py``: ``GET /metrics`` in the Prometheus text format, behind a
  bearer token (``METRICS_TOKEN`` or ``METRICS_TOKEN_FILE``); 404 without one.
* ``schema_health.py``: what the admin's Schema health page shows.

docs/deployment/monitoring.md has the metrics, the alert rules and the runbooks.
"""
