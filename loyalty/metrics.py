"""`GET /metrics` in Prometheus's text format (prometheus-client): events received, applied
and failed by source and type, apply lag, batch sizes, and the queue's depth and age.

Under gunicorn each web and worker process counts on its own; with
`PROMETHEUS_MULTIPROC_DIR` set (make run sets it) the counts go to files in that folder
and a scrape of any process adds them all up (the client's multiprocess mode). The queue
figures are read from the database at scrape time, so they hold whichever process answers.
"""
import os

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from loyalty import inbox
from loyalty.models.types import utcnow

CONSUMED = {"checkout.session.completed", "payment_intent.succeeded", "charge.refunded", "purchase.completed",
            "purchase.refunded"}

RECEIVED = Counter("loyalty_events_received", "Webhook events recorded, by source, type and answer.",
                   ["source", "type", "answer"])
APPLIED = Counter("loyalty_events_applied", "Events the worker finished, by source, type and status.",
                  ["source", "type", "status"])
FAILED = Counter("loyalty_events_failed", "Events that ended failed, by source, type and error code.",
                 ["source", "type", "code"])
LAG = Histogram("loyalty_apply_lag_seconds", "From an event's 2xx to its effect being committed.",
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600))
SENT = Counter("loyalty_deliveries_attempted", "Attempts to deliver events out to webhook endpoints.")
BATCH = Histogram("loyalty_batch_size", "Events per applied batch.", buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000))


def _type(event_type):
    """Label values stay few: a type we do not consume counts as `other`."""
    return event_type if event_type in CONSUMED else "other"


def event_received(source, event_type, answer):
    RECEIVED.labels(source, _type(event_type), answer).inc()


def events_sent(attempts):
    if attempts:
        SENT.inc(attempts)


def batch_applied(events):
    if not events:
        return
    BATCH.observe(len(events))
    now = utcnow()
    for event in events:
        status = event.outcome.status
        APPLIED.labels(event.source, _type(event.type), status).inc()
        if status == "failed":
            FAILED.labels(event.source, _type(event.type), event.outcome.code or "unknown").inc()
        elif event.received_at is not None:
            LAG.observe(max(0.0, (now - event.received_at).total_seconds()))


class QueueCollector:
    """The queue as the database has it now."""

    def collect(self):
        stats = inbox.queue_stats()
        yield GaugeMetricFamily("loyalty_queue_depth", "Events recorded and not applied yet.", value=stats["depth"])
        yield GaugeMetricFamily("loyalty_queue_oldest_age_seconds", "Age of the oldest queued event (0: none).",
                                value=stats["oldest_age_s"] or 0)


def metrics():
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for collector in (RECEIVED, APPLIED, FAILED, LAG, BATCH):
            registry.register(collector)
    registry.register(QueueCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app):
    app.add_url_rule("/metrics", "metrics", metrics)
