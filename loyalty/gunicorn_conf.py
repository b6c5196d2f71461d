"""gunicorn settings the service needs beyond the command line (`-c python:loyalty.gunicorn_conf`,
and gunicorn.conf.py for production): JSON log lines from each worker; with
PROMETHEUS_MULTIPROC_DIR set, a worker process that exits has its gauges dropped from
/metrics (prometheus-client's multiprocess mode)."""
import os

from loyalty import logs


def post_worker_init(worker):
    """The app's JSON log lines (a line per request, loyalty/logs.py) from each worker."""
    logs.configure(os.environ.get("LOYALTY_LOG_LEVEL", "INFO").upper())


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
