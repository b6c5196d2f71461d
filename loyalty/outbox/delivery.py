"""Sending events out: the worker's second loop (loyalty/worker.py runs it in a thread).

Each round first gives newly recorded events their deliveries (fan_out: one per enabled
endpoint that takes the type), then claims due deliveries, signs each to the Standard Webhooks scheme (`webhook-id`
is the event's id, the same on every retry and replay; `webhook-timestamp` is the time of
the attempt; `webhook-signature` one `v1,` signature per live secret), posts them side by
side, and records every attempt: any 2xx is delivered, anything else (another status, a
timeout, a refused address, a redirect, which is never followed) is tried again on the
schedule (schedule.py) until the round's last attempt, when the delivery is `failed` and
an endpoint that has not taken a single delivery since that round began is disabled, with
the reason.

PostgreSQL: the claim takes the rows FOR UPDATE SKIP LOCKED and keeps the transaction
open while sending, so workers on several machines share the queue, and a worker killed
mid-send drops its locks with its connection: the next claim sends again, with the same
id. SQLite (one worker): the claim reads, sends, then writes the outcomes.
"""
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

import urllib3
from sqlalchemy import bindparam, insert, or_, text, update
from standardwebhooks.webhooks import Webhook

from loyalty.bulk import append
from loyalty.models import Delivery, DeliveryAttempt, OutboundEvent, WebhookEndpoint
from loyalty.models.types import UTCDateTime, utcnow
from loyalty.outbox import addresses, record, schedule

log = logging.getLogger(__name__)
RESPONSE_KEPT = 200          # characters of an answer kept in the attempt log
READ_AT_MOST = 64 * 1024     # bytes of an answer read; a longer one closes the connection
USER_AGENT = "loyalty-webhooks/1"

_DUE = text("""
    SELECT d.id, d.retry, d.round_started_at, e.id AS endpoint_id, e.url, e.secret, e.previous_secret,
           e.previous_secret_until, e.last_success_at, ev.message_id, ev.body
    FROM deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN outbound_events ev ON ev.id = d.event_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= :now AND e.enabled
    ORDER BY d.next_attempt_at, d.id LIMIT :limit""").bindparams(bindparam("now", type_=UTCDateTime)).columns(
    round_started_at=UTCDateTime, previous_secret_until=UTCDateTime, last_success_at=UTCDateTime)
_DUE_LOCKED = text(str(_DUE) + " FOR UPDATE OF d SKIP LOCKED").bindparams(
    bindparam("now", type_=UTCDateTime)).columns(round_started_at=UTCDateTime, previous_secret_until=UTCDateTime,
                                                 last_success_at=UTCDateTime)
DELIVERIES, ATTEMPTS, ENDPOINTS = Delivery.__table__, DeliveryAttempt.__table__, WebhookEndpoint.__table__
FAN_OUT_BATCH = 2000
_TO_FAN_OUT = text("SELECT id, type FROM outbound_events WHERE NOT fanned_out ORDER BY id LIMIT :limit")
_TO_FAN_OUT_LOCKED = text(str(_TO_FAN_OUT) + " FOR UPDATE SKIP LOCKED")
_FANNED_OUT = update(OutboundEvent.__table__).where(OutboundEvent.__table__.c.id.in_(
    bindparam("ids", expanding=True))).values(fanned_out=True)
_OUTCOME = update(DELIVERIES).where(DELIVERIES.c.id == bindparam("row_id")).values(
    status=bindparam("s_status"), attempts=DELIVERIES.c.attempts + 1, retry=bindparam("s_retry"),
    next_attempt_at=bindparam("s_next"), last_attempt_at=bindparam("s_at"), delivered_at=bindparam("s_delivered"),
    last_status=bindparam("s_last_status"), last_error=bindparam("s_error"))
_SUCCEEDED = update(ENDPOINTS).where(ENDPOINTS.c.id == bindparam("row_id")).values(last_success_at=bindparam("s_at"))
_DISABLE = update(ENDPOINTS).where(
    ENDPOINTS.c.id == bindparam("row_id"), ENDPOINTS.c.enabled.is_(True),
    or_(ENDPOINTS.c.last_success_at.is_(None), ENDPOINTS.c.last_success_at < bindparam("s_round"))).values(
    enabled=False, disabled_at=bindparam("s_at"), disabled_reason=bindparam("s_reason"))


PARKED_UNTIL = datetime(9999, 1, 1, tzinfo=timezone.utc)
_PARK = update(DELIVERIES).where(DELIVERIES.c.endpoint_id == bindparam("endpoint"),
                                 DELIVERIES.c.status == "pending").values(next_attempt_at=PARKED_UNTIL)
_UNPARK = update(DELIVERIES).where(DELIVERIES.c.endpoint_id == bindparam("endpoint"), DELIVERIES.c.status == "pending",
                                   DELIVERIES.c.next_attempt_at == PARKED_UNTIL).values(
    next_attempt_at=bindparam("now", type_=UTCDateTime))


def park(session, endpoint_id):
    """A disabled endpoint's pending deliveries wait out of the queue's way (they would be
    due, and every claim would walk past them)."""
    session.execute(_PARK, {"endpoint": endpoint_id})


def unpark(session, endpoint_id):
    """Enabled again: its waiting deliveries are due now."""
    session.execute(_UNPARK, {"endpoint": endpoint_id, "now": utcnow()})


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the status (None: no answer), time taken, first characters, error."""

    status: int | None
    latency_ms: int
    response: str = ""
    error: str | None = None

    @property
    def delivered(self):
        return self.status is not None and 200 <= self.status < 300


class Sender:
    """POSTs to receivers: a keep-alive pool per receiver address, no redirects, a timeout,
    every address checked (addresses.py) and connected to as checked."""

    def __init__(self, timeout=10.0, allow_private=False, threads=16):
        self.timeout, self.allow_private = urllib3.Timeout(total=timeout), allow_private
        self.deadline = timeout
        self.pools, self.size = {}, threads
        self.threads = ThreadPoolExecutor(threads, thread_name_prefix="webhook")

    def _pool(self, scheme, address, port, host):
        key = (scheme, address, port, host)
        if key not in self.pools:
            if scheme == "https":
                self.pools[key] = urllib3.HTTPSConnectionPool(address, port, maxsize=self.size, server_hostname=host,
                                                              assert_hostname=host, cert_reqs="CERT_REQUIRED")
            else:
                self.pools[key] = urllib3.HTTPConnectionPool(address, port, maxsize=self.size)
        return self.pools[key]

    def post(self, url, body, headers):
        """One attempt; never raises: whatever goes wrong is the attempt's error."""
        started = time.monotonic()
        try:
            return self._post(url, body, headers, started)
        except Exception as error:      # a bug or an odd URL must not stop the round's outcomes being recorded
            log.exception("sending to endpoint failed unexpectedly")
            return Answer(None, int((time.monotonic() - started) * 1000), "", f"error ({type(error).__name__})")

    def _post(self, url, body, headers, started):

        def answer(status=None, response="", error=None):
            return Answer(status, int((time.monotonic() - started) * 1000), response, error)
        try:
            scheme, host, port, path = addresses.parse(url)
            address = addresses.resolve(host, port, scheme, self.allow_private)[0]
        except addresses.Refused as refused:
            return answer(error=f"refused: {refused}")
        except Exception as error:      # a URL that no longer parses: say so, never crash the round
            return answer(error=f"refused: {type(error).__name__}")
        default_port = 443 if scheme == "https" else 80
        if not host.isascii():
            host = host.encode("idna").decode("ascii")      # the Host header and TLS name in ASCII
        host_header = host if port == default_port else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
        try:
            reply = self._pool(scheme, address, port, host).urlopen(
                "POST", path, body=body.encode(), headers={**headers, "Host": host_header}, redirect=False,
                retries=False, timeout=self.timeout, preload_content=False, assert_same_host=False)
        except urllib3.exceptions.HTTPError as error:
            return answer(error=_reason(error))
        try:
            head, finished = self._read(reply, started)
            if finished:
                reply.release_conn()
            else:
                reply.close()                   # too long, or too slow, to read to the end: no reuse
        except urllib3.exceptions.HTTPError as error:
            reply.close()
            return answer(reply.status, error=_reason(error))
        if not finished and time.monotonic() - started >= self.deadline:
            return answer(reply.status, error="timed out")
        text_head = head[:RESPONSE_KEPT * 4].decode("utf-8", "replace")[:RESPONSE_KEPT]
        error = None
        if 300 <= reply.status < 400:
            error = "redirect not followed"
        elif not 200 <= reply.status < 300:
            error = f"HTTP {reply.status}"
        return answer(reply.status, text_head, error)

    def _read(self, reply, started):
        """The answer's first READ_AT_MOST bytes, in chunks, within the attempt's deadline (a
        receiver trickling a byte a second cannot hold a sender thread for long). Answers
        (bytes, whether the answer was read to its end)."""
        head = b""
        while len(head) < READ_AT_MOST:
            if time.monotonic() - started >= self.deadline:
                return head, False
            chunk = reply.read1(4096, decode_content=False)
            if not chunk:
                return head, True
            head += chunk
        return head[:READ_AT_MOST], not reply.read(1, decode_content=False)

    def close(self):
        self.threads.shutdown(wait=True)
        for pool in self.pools.values():
            pool.close()


def _reason(error):
    """An attempt's error in words, without internals."""
    name = type(error).__name__
    if isinstance(error, (urllib3.exceptions.TimeoutError, urllib3.exceptions.ReadTimeoutError)) \
            or "Timeout" in name:
        return "timed out"
    if isinstance(error, urllib3.exceptions.SSLError):
        return "TLS error"
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return "connection refused or unreachable"
    return f"connection error ({name})"


def signature(secrets, message_id, at, body):
    """The `webhook-signature` header: one `v1,<base64>` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets)


def headers_for(row, at):
    """The Standard Webhooks headers of one attempt, signed with every live secret."""
    secrets = [row.secret]
    if row.previous_secret and row.previous_secret_until and at < row.previous_secret_until:
        secrets.append(row.previous_secret)
    moment = datetime.fromtimestamp(int(at.timestamp()), timezone.utc)
    return {"webhook-id": row.message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature(secrets, row.message_id, moment, row.body),
            "content-type": "application/json", "user-agent": USER_AGENT}


def fan_out(session, limit=FAN_OUT_BATCH):
    """Give recorded events their deliveries: one per enabled endpoint that takes the type,
    as of now. Claimed FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers share the
    work; one transaction. Answers how many events it took."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if not postgres:
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    rows = session.execute(_TO_FAN_OUT_LOCKED if postgres else _TO_FAN_OUT, {"limit": limit}).all()
    if not rows:
        session.rollback()
        return 0
    taken, now = record.subscribers(session), utcnow()
    deliveries = [{"event_id": row.id, "endpoint_id": endpoint_id, "status": "pending", "attempts": 0, "retry": 0,
                   "next_attempt_at": now, "round_started_at": now, "created_at": now}
                  for row in rows for endpoint_id in taken.get(row.type, ()) if endpoint_id is not None]
    if deliveries:
        append(session, DELIVERIES, deliveries)
    session.execute(_FANNED_OUT, {"ids": [row.id for row in rows]})
    session.commit()
    return len(rows)


def deliver_due(session, sender, waits, limit=200):
    """One round: claim up to `limit` due deliveries, send them side by side, record each
    attempt. Answers how many were attempted."""
    while fan_out(session) == FAN_OUT_BATCH:
        pass
    postgres = session.get_bind().dialect.name == "postgresql"
    now = utcnow()
    rows = session.execute(_DUE_LOCKED if postgres else _DUE, {"now": now, "limit": limit}).all()
    if not postgres:
        session.rollback()      # SQLite: no transaction is held while sending
    if not rows:
        session.rollback()
        return 0
    answers = list(sender.threads.map(lambda row: sender.post(row.url, row.body, headers_for(row, utcnow())), rows))
    if not postgres:
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        rows, answers = _still_claimed(session, rows, answers)
    _record(session, rows, answers, waits, utcnow())
    session.commit()
    return len(rows)


_ROUNDS = text("SELECT id, round_started_at FROM deliveries WHERE status = 'pending' AND id IN :ids").bindparams(
    bindparam("ids", expanding=True)).columns(round_started_at=UTCDateTime)


def _still_claimed(session, rows, answers):
    """SQLite sends without holding its rows: keep the outcomes of deliveries still pending
    in the round that was claimed (not removed with their endpoint, not replayed meanwhile)."""
    rounds = dict(session.execute(_ROUNDS, {"ids": [row.id for row in rows]}).all())
    kept = [(row, answer) for row, answer in zip(rows, answers) if rounds.get(row.id) == row.round_started_at]
    return [row for row, _ in kept], [answer for _, answer in kept]


def _record(session, rows, answers, waits, now):
    outcomes, attempts, succeeded, exhausted = [], [], {}, {}
    for row, answer in zip(rows, answers):
        attempts.append({"delivery_id": row.id, "at": now, "status": answer.status, "latency_ms": answer.latency_ms,
                         "response": answer.response, "error": answer.error})
        if answer.delivered:
            outcomes.append(_outcome(row, "delivered", row.retry, now, now, answer))
            succeeded[row.endpoint_id] = now
            continue
        retry = row.retry + 1
        following = schedule.next_attempt(waits, retry, now)
        outcomes.append(_outcome(row, "pending" if following else "failed", retry, following or now, now, answer))
        if following is None:
            exhausted.setdefault(row.endpoint_id, (row, answer))
    if not attempts:
        return
    session.execute(insert(ATTEMPTS), attempts)
    session.execute(_OUTCOME, outcomes)
    if succeeded:       # endpoint rows in id order: two senders never wait on each other crosswise
        session.execute(_SUCCEEDED, [{"row_id": endpoint_id, "s_at": succeeded[endpoint_id]}
                                     for endpoint_id in sorted(succeeded)])
    disabling = [{"row_id": endpoint_id, "s_at": now, "s_round": row.round_started_at,
                  "s_reason": _disabled_because(row, answer, now)}
                 for endpoint_id, (row, answer) in sorted(exhausted.items()) if endpoint_id not in succeeded]
    for item in disabling:
        if session.execute(_DISABLE, item).rowcount:
            park(session, item["row_id"])
            log.warning("webhook endpoint %s disabled: %s", item["row_id"], item["s_reason"])


def _outcome(row, status, retry, following, now, answer):
    return {"row_id": row.id, "s_status": status, "s_retry": retry, "s_next": following, "s_at": now,
            "s_delivered": now if status == "delivered" else None, "s_last_status": answer.status,
            "s_error": answer.error}


def _disabled_because(row, answer, now):
    last = f"HTTP {answer.status}" if answer.status is not None else answer.error
    return (f"Every delivery failed from {row.round_started_at:%Y-%m-%d %H:%M} UTC to {now:%Y-%m-%d %H:%M} UTC "
            f"(last: {last}); enable it again once the receiver answers 2xx.")
