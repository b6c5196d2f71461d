"""`loyalty worker`: applies the events the webhooks recorded, batch after batch, and (in
threads of their own) sends events out to the shop's registered endpoints and runs the
backtests the admin API queued.

Several may run side by side, on several machines, on PostgreSQL: each claims its own
events (FOR UPDATE SKIP LOCKED). On SQLite one worker runs. It sleeps while the queue is
empty and wakes at once when an event is recorded (PostgreSQL LISTEN/NOTIFY; on SQLite it
polls). SIGTERM or SIGINT lets the batch in hand finish and then stops it; a worker killed
outright loses nothing: its batch's transaction never committed, so its events are still
queued for the next claim.
"""
import contextlib
import gc
import logging
import signal
import threading
import time

import click
import psycopg
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import DBAPIError, OperationalError

from loyalty import inbox, logs, metrics
from loyalty.applier import apply_batch
from loyalty.extensions import db
from loyalty.outbox import delivery, schedule
from loyalty.programmes import backtest_jobs
from loyalty.programme import programme_book

log = logging.getLogger(__name__)
BATCH_SIZE = 500
OUTAGE_PAUSE_SECONDS = 1.0
DELIVERY_BATCH = 200            # deliveries claimed and sent per round
DELIVERY_POLL_SECONDS = 0.5     # between looks for due deliveries when none is due
GC_THRESHOLD = 50_000           # new objects between collections of the youngest generation


class Wakeup:
    """Waits for the next event: LISTEN on PostgreSQL (a connection of its own, in autocommit),
    a plain pause elsewhere. A lost listening connection is opened again at the next wait."""

    def __init__(self, engine, poll_seconds):
        self.url = engine.url if engine.dialect.name == "postgresql" else None
        self.poll_seconds, self.connection = poll_seconds, None

    def _listen(self):
        url = self.url
        self.connection = psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                          dbname=url.database, autocommit=True, connect_timeout=5,
                                          **dict(url.query))
        self.connection.execute(f"LISTEN {inbox.CHANNEL}")

    def wait(self, stopping):
        """Until an event is recorded, or the poll interval. While waiting, the worker holds
        `inbox.SLEEPING` (shared), which is what makes recording an event NOTIFY. Taking it
        waits for any recording that saw it free to commit; that event (or any other left
        unclaimed) is then found by one look at the queue, so none waits for the poll."""
        if self.url is None:
            stopping.wait(self.poll_seconds)
            return
        try:
            if self.connection is None or self.connection.closed:
                self._listen()
            self.connection.execute("SELECT pg_advisory_lock_shared(%s)", (inbox.SLEEPING,))
            try:
                for _ in self.connection.notifies(timeout=0):      # earlier ones: the look covers them
                    pass
                if self.connection.execute(inbox.UNCLAIMED).fetchone() is not None:
                    return
                # Waits in short slices so a stop request is seen within half a second.
                deadline = time.monotonic() + self.poll_seconds
                while not stopping.is_set() and (left := deadline - time.monotonic()) > 0:
                    if any(True for _ in self.connection.notifies(timeout=min(left, 0.5), stop_after=1)):
                        return
            finally:
                self.connection.execute("SELECT pg_advisory_unlock_shared(%s)", (inbox.SLEEPING,))
        except psycopg.Error:
            self.close()
            stopping.wait(self.poll_seconds)

    def close(self):
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None


def send_events(app, stopping, wake, poll_seconds=DELIVERY_POLL_SECONDS, once=False):
    """Send due events out (loyalty/outbox/delivery.py) until `stopping` is set (with `once`:
    until none is due). Runs in its own thread with its own session; `wake` cuts a wait short
    (the applier sets it after a batch). Answers how many attempts it made."""
    attempted = 0
    with app.app_context():
        config, session = app.config, db.session
        waits = schedule.parse(config["LOYALTY_WEBHOOK_RETRY_SCHEDULE"])
        sender = delivery.Sender(config["LOYALTY_WEBHOOK_TIMEOUT"], config["LOYALTY_WEBHOOK_ALLOW_PRIVATE"])
        try:
            while not stopping.is_set():
                try:
                    done = delivery.deliver_due(session, sender, waits, DELIVERY_BATCH)
                except Exception as error:      # the database away, or a bug: never the end of the worker
                    if isinstance(error, OperationalError):
                        log.warning("database unavailable while sending events (%s); retrying", type(error).__name__)
                    else:
                        log.exception("sending events failed; retrying")
                    session.remove()
                    if once:
                        raise
                    stopping.wait(OUTAGE_PAUSE_SECONDS)
                    continue
                attempted += done
                metrics.events_sent(done)
                if done < DELIVERY_BATCH:
                    if once:
                        break
                    wake.wait(poll_seconds)
                    wake.clear()
        finally:
            sender.close()
            session.remove()
    return attempted


@contextlib.contextmanager
def fewer_collections():
    """A batch allocates hundreds of thousands of short-lived objects (rows, commands, plans);
    with Python's default threshold (a collection every 700 new objects) the collector ran
    thousands of times a batch, and each full collection walked every long-lived object.
    Collect every 50,000 instead, and freeze what exists when the worker starts, while it
    runs (bench/history.md, round 7); restored afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *before[1:])
    gc.freeze()         # what exists now (the app, its caches) is never scanned again
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def run(app, batch_size=BATCH_SIZE, poll_seconds=1.0, stopping=None, once=False, send=False):
    """Apply batches until `stopping` is set (or, with `once`, until the queue is empty).
    With `send`, a thread sends events out meanwhile (send_events). Answers how many events
    it applied."""
    with fewer_collections():
        return _run(app, batch_size, poll_seconds, stopping, once, send)


def _run(app, batch_size, poll_seconds, stopping, once, send):
    stopping = stopping or threading.Event()
    applied, wake, sender = 0, threading.Event(), None
    if send:
        sender = threading.Thread(target=send_events, args=(app, stopping, wake), name="events-out", daemon=True)
        sender.start()
        backtest_jobs.start(app, stopping)      # backtests asked for through the admin API
    with app.app_context():
        session = db.session
        wakeup = Wakeup(db.engine, poll_seconds)
        try:
            while not stopping.is_set():
                try:
                    began = time.perf_counter()
                    done = apply_batch(session, programme_book(fresh=True), batch_size)
                except DBAPIError as error:       # the database is away: wait, then carry on
                    log.warning("database unavailable (%s); retrying", type(error).__name__)
                    session.remove()
                    if once:
                        raise
                    stopping.wait(OUTAGE_PAUSE_SECONDS)
                    continue
                applied += len(done)
                metrics.batch_applied(done)
                logs.applied(done, time.perf_counter() - began)
                if done:
                    wake.set()
                if len(done) < batch_size:
                    if once:
                        break
                    wakeup.wait(stopping)
        finally:
            wakeup.close()
            session.remove()
            if sender is not None:
                stopping.set()
                wake.set()
                sender.join()
    return applied


def drain(app, batch_size=BATCH_SIZE):
    """Apply every queued event now, in this process (tests, imports): answers how many."""
    return run(app, batch_size, once=True)


def send_due(app):
    """Send every due event out now, in this process (tests): answers how many attempts."""
    return send_events(app, threading.Event(), threading.Event(), once=True)


@click.command("worker")
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, type=click.IntRange(1, 10_000),
              help="Events claimed and applied per transaction.")
@click.option("--poll", "poll_seconds", default=1.0, show_default=True, type=click.FloatRange(0.01, 60),
              help="Seconds between looks at an empty queue (PostgreSQL also wakes on NOTIFY).")
@click.option("--once", is_flag=True, help="Apply what is queued, then exit.")
@with_appcontext
def worker_command(batch_size, poll_seconds, once):
    """Apply recorded webhook events until stopped (SIGTERM or Ctrl-C finish the batch in hand)."""
    logs.configure(current_app.config["LOYALTY_LOG_LEVEL"])
    stopping = threading.Event()

    def stop(signum, _frame):
        log.info("signal %s: stopping after the batch in hand", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    app = current_app._get_current_object()
    log.info("worker started (batch size %d)", batch_size)
    started = time.monotonic()
    applied = run(app, batch_size, poll_seconds, stopping, once, send=not once)
    log.info("worker stopped: %d events applied in %.1f s", applied, time.monotonic() - started)


def init_app(app):
    app.cli.add_command(worker_command)
