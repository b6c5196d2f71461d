"""Receiving a webhook event: stored with its effects in one transaction, or not at all.

The unique (source, event id) key makes a re-delivery answer `duplicate` and change
nothing. If the database cannot be reached the caller answers 503 and the sender retries.
"""
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from loyalty.errors import LoyaltyError
from loyalty.extensions import core, db
from loyalty.models import WebhookEvent
from loyalty.models.types import utcnow
from loyalty.programme import current_programme
from loyalty.services import customers
from loyalty.services.commands import ReportPurchase, ReportRefund
from loyalty.services.purchases import record_purchase, record_refund

STATUS = {"processed": "processed", "parked": "processed", "duplicate": "duplicate", "ignored": "ignored"}


def receive(source, event_id, event_type, payload, command):
    """Store the event and apply `command` (None: nothing to do); answer the status for the sender."""
    programme = current_programme()
    try:
        customers.begin_write()
        # Stored as `processed` (the usual outcome) and corrected below when it is not, so the
        # common case costs no second write.
        core(_STORE, {"source": source, "event_id": event_id, "type": event_type, "payload": payload,
                      "outcome": "processed", "received_at": utcnow()})
        if isinstance(command, ReportPurchase):
            outcome = record_purchase(programme, command)
        elif isinstance(command, ReportRefund):
            outcome = record_refund(programme, command)
        else:
            outcome = "ignored"
        if outcome != "processed":
            core(_OUTCOME, {"of_source": source, "of_event": event_id, "answer": outcome})
        db.session.commit()
    except LoyaltyError:
        db.session.rollback()
        raise
    except IntegrityError:
        db.session.rollback()
        if _already_received(source, event_id):   # this delivery, or a parallel one, got there first
            return "duplicate"
        raise
    return STATUS[outcome]


_EVENTS = WebhookEvent.__table__
_STORE = _EVENTS.insert()
_OUTCOME = _EVENTS.update().where(_EVENTS.c.source == bindparam("of_source"),
                                  _EVENTS.c.event_id == bindparam("of_event")).values(outcome=bindparam("answer"))


def _already_received(source, event_id):
    return db.session.scalars(select(WebhookEvent.id).where(
        WebhookEvent.source == source, WebhookEvent.event_id == event_id)).first() is not None
