"""The worker side of the webhook benchmarks: `loyalty worker` as a real subprocess, events
queued straight into the inbox, a paced load generator, and reading outcomes and lag back
from webhook_events. Used by http_bench.py."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from tests.conftest import TEST_SECRETS

ROOT = Path(__file__).resolve().parents[1]


def dsn(url):
    """A libpq URL from the SQLAlchemy one."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def query(url, statement, parameters=None):
    with psycopg.connect(dsn(url), autocommit=True) as connection:
        return connection.execute(statement, parameters).fetchall()


def worker_command():
    script = Path(sys.executable).with_name("loyalty")
    if script.exists():
        return [str(script), "worker"]
    return [sys.executable, "-m", "flask", "--app", "wsgi:app", "worker"]


class Worker:
    """`loyalty worker` in a process of its own, with the environment gunicorn gets."""

    def __init__(self, database_url, log_path, *options, **env):
        self.log_path, self.database_url = Path(log_path), database_url
        self.log = open(self.log_path, "wb")
        environment = {**os.environ, **TEST_SECRETS, "LOYALTY_DATABASE_URL": database_url, **env}
        self.started = time.perf_counter()
        self.process = subprocess.Popen([*worker_command(), *options], cwd=ROOT, env=environment,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_listening(self, timeout=60):
        """Until the worker has found the queue empty and sleeps on LISTEN: it then holds the
        inbox's sleeping lock (an advisory lock, shared; loyalty/worker.py)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"loyalty worker exited ({self.process.returncode}): {self.output()}")
            if query(self.database_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                                        "AND mode = 'ShareLock' AND database = (SELECT oid FROM pg_database "
                                        "WHERE datname = current_database())")[0][0]:
                return
            time.sleep(0.1)
        raise RuntimeError("loyalty worker did not LISTEN in time: " + self.output())

    def wait(self, timeout):
        """Wait for a `--once` worker to exit: answers the wall seconds since it was started."""
        self.process.wait(timeout=timeout)
        seconds = time.perf_counter() - self.started
        self.log.close()
        return seconds

    def stop(self, timeout=60):
        """SIGTERM: the worker finishes its batch and exits. Answers its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.log.closed:
            self.log.close()
        return self.process.returncode

    def loop_seconds(self):
        """The worker's own figure for its loop (its last log line), without the process start."""
        found = re.findall(r"worker stopped: (\d+) events applied in ([\d.]+) s", self.output())
        return (int(found[-1][0]), float(found[-1][1])) if found else (None, None)

    def problems(self):
        """Log lines that say something went wrong (tracebacks, warnings, errors)."""
        return [line for line in self.output().splitlines()
                if any(word in line for word in ("Traceback", "ERROR", "WARNING", "Error", "failed"))]


def enqueue(url, events, received_at=None):
    """Queue shop events straight into the inbox, as the endpoint stores them (status queued):
    `events` is (event id, type, raw JSON body) in the order they were received."""
    received_at = received_at or datetime.now(timezone.utc)
    with psycopg.connect(dsn(url), autocommit=True) as connection:
        with connection.cursor().copy("COPY webhook_events (source, event_id, type, payload, received_at, status, "
                                      "attempts) FROM STDIN") as copy:
            for event_id, kind, body in events:
                copy.write_row(("shop", event_id, kind, body, received_at, "queued", 0))


def queued(url):
    return query(url, "SELECT count(*) FROM webhook_events WHERE status = 'queued'")[0][0]


def wait_until_applied(url, worker=None, timeout=900, interval=0.05):
    """Poll until no event is queued; answers the moment that was seen (UTC), or None if the
    worker died or the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queued(url) == 0:
            return datetime.now(timezone.utc)
        if worker is not None and worker.process.poll() is not None:
            return None
        time.sleep(interval)
    return None


def outcomes(url, pattern):
    """status -> count, and the failed ones' (error_code, error_message, count), for events
    whose id matches the LIKE `pattern`."""
    statuses = dict(query(url, "SELECT status, count(*) FROM webhook_events WHERE event_id LIKE %s GROUP BY status",
                          (pattern,)))
    failed = query(url, "SELECT error_code, error_message, count(*) FROM webhook_events WHERE event_id LIKE %s "
                        "AND status NOT IN ('queued', 'processed') GROUP BY 1, 2 ORDER BY 3 DESC", (pattern,))
    return statuses, failed


def track_commit_times(server):
    """Turn on track_commit_timestamp (a restart): then the commit time of the transaction that
    applied an event is pg_xact_commit_timestamp(xmin) of its row, the moment its effects
    became visible. applied_at is taken when the worker starts the batch, before the claim."""
    with psycopg.connect(dsn(server.url()), autocommit=True) as connection:
        connection.execute("ALTER SYSTEM SET track_commit_timestamp = on")
    server.stop()
    server.start()
    server.wait_until_accepting()


def span(url, pattern):
    """count, first received_at, last received_at, last applied_at, last commit of the
    transactions that applied them, of the matching events."""
    return query(url, "SELECT count(*), min(received_at), max(received_at), max(applied_at), "
                      "max(pg_xact_commit_timestamp(xmin)) FROM webhook_events WHERE event_id LIKE %s", (pattern,))[0]


def lag(url, pattern):
    """Milliseconds from received to applied, (p50, p99, max) by applied_at and by the commit
    of the applying transaction, min by applied_at, and how many are not applied."""
    row = query(url, """
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY applied), percentile_cont(0.99) WITHIN GROUP (ORDER BY applied),
               max(applied), percentile_cont(0.5) WITHIN GROUP (ORDER BY committed),
               percentile_cont(0.99) WITHIN GROUP (ORDER BY committed), max(committed), min(applied),
               count(*) FILTER (WHERE applied IS NULL)
        FROM (SELECT extract(epoch FROM applied_at - received_at) * 1000 AS applied,
                     extract(epoch FROM pg_xact_commit_timestamp(xmin) - received_at) * 1000 AS committed
              FROM webhook_events WHERE event_id LIKE %s) AS lags""", (pattern,))[0]
    keys = ("p50", "p99", "max", "commit_p50", "commit_p99", "commit_max", "min")
    return {**{key: None if value is None else float(value) for key, value in zip(keys, row[:-1], strict=True)}, "unapplied": row[-1]}


def raw_request(path, headers, body):
    """One HTTP/1.1 request as bytes, closing the connection (gunicorn's sync workers do)."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


def paced(port, requests, rate, threads=20):
    """Send `requests` ((path, headers, body) each) at `rate` per second on schedule, request k
    at k / rate seconds, from `threads` threads (request k on thread k % threads, so events
    that share a thread keep their order). Plain sockets, a new connection per request (as
    wrk makes against gunicorn's sync workers), so that the generator costs little CPU.
    Answers what was sent, how fast, how late, and the CPU this process used."""
    prepared = [raw_request(*request) for request in requests]
    statuses, latencies, slips = {}, [], []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    cpu = time.process_time()

    def send(first):
        mine_status, mine_latency, mine_slip = {}, [], []
        for k in range(first, len(prepared), threads):
            delay = start + k / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            mine_slip.append(max(0.0, -delay))
            sent = time.perf_counter()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
                    connection.sendall(prepared[k])
                    answer = b""
                    while chunk := connection.recv(65536):
                        answer += chunk
                status = int(answer[9:12]) if answer.startswith(b"HTTP/1.") else "no answer"
            except OSError as error:
                status = type(error).__name__
            mine_latency.append(time.perf_counter() - sent)
            mine_status[status] = mine_status.get(status, 0) + 1
        with lock:
            for status, count in mine_status.items():
                statuses[status] = statuses.get(status, 0) + count
            latencies.extend(mine_latency)
            slips.extend(mine_slip)

    pool = [threading.Thread(target=send, args=(j,)) for j in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - start
    latencies.sort()
    slips.sort()
    return {"sent": len(prepared), "seconds": seconds, "per_second": len(prepared) / seconds, "statuses": statuses,
            "p50_ms": latencies[len(latencies) // 2] * 1000, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            "late_p99_ms": slips[int(len(slips) * 0.99)] * 1000, "cpu_share": (time.process_time() - cpu) / seconds}
