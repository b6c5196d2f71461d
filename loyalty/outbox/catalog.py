"""The events out: their types and the envelope every one is sent in (api.md, "Events out").

Each carries the customer's balance after the change and a per-customer sequence number
(from 1), so a receiver can order one customer's events; a retry or a replay keeps the
event's `id`, so a receiver can drop what it has seen."""
import json
import uuid
from dataclasses import dataclass, field

TYPES = (
    "points.earned",        # a purchase earned points (pending until the return window ends)
    "points.available",     # pending points became available
    "points.expiring",      # points will expire soon (each lead time of the programme, once)
    "points.expired",
    "points.redeemed",
    "points.adjusted",      # goodwill from support
    "tier.changed",         # from, to, why: purchase, refund, review or programme (loyalty programme apply)
    "tier.will_downgrade",  # a review would lower the tier soon: the spend that keeps it, by when
    "priority.changed",     # priority support on or off, or its first-response target changed
    "customer.birthday",
    "event.failed",         # an inbound event the worker could not apply
)


@dataclass
class Notice:
    """An event to record. `data` may be a function of the customer's balance row (read in
    the same transaction), answering the data or None for "nothing to say after all": a
    priority change is only known once the manual flag is read."""

    type: str
    customer_id: str | None
    data: object = field(default_factory=dict)
    dedupe_key: str | None = None


def message_id():
    return "msg_" + uuid.uuid4().hex


def as_json(value):
    return json.dumps(value, separators=(",", ":"), default=str)


def envelope(event_id, notice, data, sequence, balance_json, created_at):
    """The body sent, as text: stored once, sent as it is on every attempt. `balance_json`
    is the balance already as JSON (made once per customer, however many events it has)."""
    head = as_json({"id": event_id, "type": notice.type, "created_at": created_at.isoformat(),
                    "customer_id": notice.customer_id, "sequence": sequence, "data": data})
    return f'{head[:-1]},"balance":{balance_json}}}'

