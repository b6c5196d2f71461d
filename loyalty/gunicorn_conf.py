"""gunicorn settings the service needs beyond the command line (`-c python:loyalty.gunicorn_conf`):
with PROMETHEUS_MULTIPROC_DIR set, a worker process that exits has its gauges dropped from
/metrics (prometheus-client's multiprocess mode)."""
import os


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
