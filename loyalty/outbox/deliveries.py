"""The delivery log (every delivery, with its attempts) and replays: a delivery sent again,
or every event of a time range sent again to an endpoint, always with the event's own id
(`webhook-id`), so a receiver that has it already can drop it."""
import json

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.models import Delivery, DeliveryAttempt, OutboundEvent, WebhookEndpoint
from loyalty.models.types import utcnow
from loyalty.outbox import endpoints
from loyalty.outbox.catalog import TYPES

_LISTED = (Delivery.id, Delivery.endpoint_id, Delivery.status, Delivery.attempts, Delivery.next_attempt_at,
           Delivery.last_attempt_at, Delivery.delivered_at, Delivery.last_status, Delivery.last_error,
           Delivery.created_at, OutboundEvent.message_id, OutboundEvent.type, OutboundEvent.customer_id,
           OutboundEvent.sequence)


def _item(row):
    return {"id": row.id, "endpoint_id": row.endpoint_id, "event_id": row.message_id, "type": row.type,
            "customer_id": row.customer_id, "sequence": row.sequence, "status": row.status,
            "attempts": row.attempts, "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
            "last_attempt_at": row.last_attempt_at, "delivered_at": row.delivered_at,
            "last_status": row.last_status, "last_error": row.last_error, "created_at": row.created_at}


def listing(endpoint=None, status=None, event_type=None, since=None, limit=50, before=None):
    """Newest first, `limit` at a time; `before` (a delivery id) continues a listing."""
    if event_type is not None and event_type not in TYPES:
        raise LoyaltyError(422, "invalid_request", f"Unknown event type {event_type!r}.", {"known": list(TYPES)})
    query = select(*_LISTED).join(OutboundEvent, OutboundEvent.id == Delivery.event_id)
    for column, compare, value in ((Delivery.endpoint_id, "__eq__", endpoint), (Delivery.status, "__eq__", status),
                                   (OutboundEvent.type, "__eq__", event_type), (Delivery.created_at, "__ge__", since),
                                   (Delivery.id, "__lt__", before)):
        if value is not None:
            query = query.where(getattr(column, compare)(value))
    rows = db.session.execute(query.order_by(Delivery.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return {"deliveries": [_item(row) for row in page], "next_before": page[-1].id if len(rows) > limit else None}


def detail(delivery_id):
    """One delivery with its event's body and every attempt, oldest first."""
    row = db.session.execute(select(*_LISTED, OutboundEvent.body)
                             .join(OutboundEvent, OutboundEvent.id == Delivery.event_id)
                             .where(Delivery.id == delivery_id)).one_or_none()
    if row is None:
        raise LoyaltyError(404, "not_found", "No such delivery.")
    attempts = db.session.execute(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
                                  .order_by(DeliveryAttempt.id)).scalars()
    return {**_item(row), "payload": json.loads(row.body),
            "attempt_log": [{"at": a.at, "status": a.status, "latency_ms": a.latency_ms, "response": a.response,
                             "error": a.error} for a in attempts]}


def replay(delivery_id):
    """Send this delivery again now, as a new round of the schedule."""
    now = utcnow()
    done = db.session.execute(update(Delivery).where(Delivery.id == delivery_id).values(
        status="pending", retry=0, next_attempt_at=now, round_started_at=now))
    if done.rowcount == 0:
        db.session.rollback()
        raise LoyaltyError(404, "not_found", "No such delivery.")
    db.session.commit()
    return {"replayed": 1}


def _adding():
    """INSERT of deliveries that leaves out a pair another replay has just made."""
    dialect = db.session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(Delivery).on_conflict_do_nothing(
        index_elements=["endpoint_id", "event_id"])


def replay_range(since, until, endpoint_id=None):
    """Send again every event created in [since, until) to the endpoint (or to every enabled
    endpoint), each a type it takes: deliveries it had start a new round; events it never
    had (it was disabled, or added later) get one. Answers the counts."""
    if until <= since:
        raise LoyaltyError(422, "invalid_request", "`until` must be after `since`.")
    targets = [endpoints.find(endpoint_id)] if endpoint_id is not None else db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True)).order_by(WebhookEndpoint.id)).all()
    now, again, new = utcnow(), 0, 0
    for endpoint in targets:
        in_range = select(OutboundEvent.id).where(OutboundEvent.created_at >= since, OutboundEvent.created_at < until)
        if endpoint.events:
            in_range = in_range.where(OutboundEvent.type.in_(endpoint.events))
        again += db.session.execute(update(Delivery).where(Delivery.endpoint_id == endpoint.id,
                                                           Delivery.event_id.in_(in_range)).values(
            status="pending", retry=0, next_attempt_at=now, round_started_at=now)).rowcount
        # Events the sender has yet to fan out get their deliveries from it.
        missing = in_range.outerjoin(Delivery, and_(Delivery.event_id == OutboundEvent.id,
                                                    Delivery.endpoint_id == endpoint.id)).where(
            Delivery.id.is_(None), OutboundEvent.fanned_out.is_(True))
        ids = db.session.execute(missing).scalars().all()
        if ids:
            db.session.execute(_adding(), [
                {"event_id": event_id, "endpoint_id": endpoint.id, "status": "pending", "attempts": 0, "retry": 0,
                 "next_attempt_at": now, "round_started_at": now, "created_at": now} for event_id in ids])
        new += len(ids)
    db.session.commit()
    return {"replayed": again, "added": new, "endpoints": [endpoint.id for endpoint in targets]}
