"""Liveness and readiness probes for orchestrators (Kubernetes, ECS, docker-compose).

* ``GET /healthz`` (liveness): 200 while the process can serve; it never
  touches the database, so a database outage does not restart every pod.
* ``GET /readyz`` (readiness): 200 when the database answers and every
  migration this release needs before serving is applied; otherwise 503 with
  a small JSON body naming what is missing (readiness.py).

Both answer plain HTTP with any ``Host`` (middleware.py); ``call.py`` calls
them from inside a container for health checks that run a command. This
package's ``__init__`` imports nothing, so ``call`` starts without Django.
"""
