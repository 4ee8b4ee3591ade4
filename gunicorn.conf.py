"""gunicorn reads this file from its working directory (the image's /app) at start.

Only what /metrics needs across gunicorn's worker processes: prometheus-client's
multiprocess mode (ecomind_core/monitoring/admin_latency.py). Each worker
writes its metric values to files in ``PROMETHEUS_MULTIPROC_DIR``, and the
worker that answers a scrape reads them all. The directory is emptied when
gunicorn starts (values from before a restart must not be added twice) and
made here when none is given; a worker that exits is marked dead.
Everything else about the server is its command line (deploy/Dockerfile).
"""

import os
import shutil
import tempfile


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)
    else:
        # Set before any worker is forked, so every worker's prometheus-client sees it.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = server.ecomind_metrics_dir = tempfile.mkdtemp(prefix="ecomind-prometheus-")


def on_exit(server):
    made_here = getattr(server, "ecomind_metrics_dir", None)
    if made_here:
        shutil.rmtree(made_here, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
