"""Logs a person and a machine can read: one JSON line per record on standard error, with
one line per HTTP request (request id, method, path, status, duration) and one per applied
event (event id, source, type, outcome, customer, the reason when it was not simply
processed). Nothing a customer or a shop sent is logged: no bodies, no SQL parameters
(the engine is created with `hide_parameters`), no credentials or tokens.

`LOYALTY_LOG_LEVEL` (default INFO) sets the level; `configure()` is called by the
`loyalty` command line and by gunicorn (gunicorn.conf.py), never by a test's app."""
import json
import logging
import random
import re
import time
from datetime import datetime, timezone

from flask import g, request

requests_log = logging.getLogger("loyalty.requests")
events_log = logging.getLogger("loyalty.events")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
REASONS = {"ignored": "the event's type is not one this service consumes",
           "duplicate": "another event already counted this order or refund",
           "parked": "a refund waiting for its purchase"}


class JsonLines(logging.Formatter):
    def format(self, record):
        line = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(level="INFO"):
    """JSON lines on standard error for the whole process (replaces earlier handlers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our lines name no thread, process or source line: records need not look them up (the
    # logging documentation's "Optimization"; the caller's frame was most of a line's cost).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None


def request_id(sent):
    """The caller's X-Request-Id if it is a plain one, else 128 random bits as 32 hex
    digits (as uuid4().hex, without a system call per request)."""
    return sent if _REQUEST_ID.fullmatch(sent) else f"{random.getrandbits(128):032x}"


def request_done(request_id, method, path, status, started, client):
    """The request's line."""
    if requests_log.isEnabledFor(logging.INFO):
        requests_log.info("request", extra={"fields": {
            "request_id": request_id, "method": method, "path": path, "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2), "client": client}})


def _start():
    g.request_started = time.perf_counter()
    g.request_id = request_id(request.headers.get("X-Request-Id", ""))


def _finish(response):
    started = g.pop("request_started", None)
    identifier = g.get("request_id")
    if identifier:
        response.headers["X-Request-Id"] = identifier
    if started is not None:
        request_done(identifier, request.method, request.path, response.status_code, started, request.remote_addr)
    return response


def applied(events, seconds):
    """One line per event of a batch applied in `seconds`."""
    if not events_log.isEnabledFor(logging.INFO):
        return
    for event in events:
        outcome = event.outcome
        fields = {"event_id": event.event_id, "source": event.source, "type": event.type,
                  "outcome": outcome.status if outcome else "processed", "batch_size": len(events),
                  "batch_ms": round(seconds * 1000, 2)}
        command = event.command
        customer = getattr(command, "customer", None)
        if customer is not None:
            fields["customer_id"] = customer.id or customer.stripe_customer_id
        if command is not None:
            fields["order"] = command.order_key
        if outcome is not None and (outcome.status != "processed" or outcome.code):   # failed, parked, capped...
            fields["reason"] = outcome.message or REASONS.get(outcome.status, outcome.status)
            if outcome.code:
                fields["code"] = outcome.code
        level = logging.WARNING if fields["outcome"] == "failed" else logging.INFO
        events_log.log(level, "event " + fields["outcome"], extra={"fields": fields})


def ignored(source, event_id, event_type):
    """An event stored as ignored at once, at its webhook (a type not consumed)."""
    events_log.info("event ignored", extra={"fields": {"event_id": event_id, "source": source, "type": event_type,
                                                      "outcome": "ignored", "reason": REASONS["ignored"]}})


def init_app(app):
    app.before_request(_start)
    app.after_request(_finish)
