"""Receivers of events out: registered, listed, disabled, enabled again, removed, and their
signing secrets rotated. A secret (`whsec_` and 24 random bytes in base64, the Standard
Webhooks form) is shown once, when made; a rotation keeps the previous secret signing too
for 24 hours, so a receiver can switch without missing an event."""
import base64
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.inputs import clip
from loyalty.models import Delivery, DeliveryAttempt, WebhookEndpoint
from loyalty.models.types import utcnow
from loyalty.outbox import addresses, delivery
from loyalty.outbox.catalog import TYPES

OVERLAP = timedelta(hours=24)


def new_secret():
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signing_secrets(endpoint, now):
    """The secrets that sign what this endpoint is sent: the current one, and the previous
    one while the rotation overlap lasts."""
    found = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and now < endpoint.previous_secret_until:
        found.append(endpoint.previous_secret)
    return found


def check_types(types):
    unknown = sorted(set(types) - set(TYPES))
    if unknown:
        raise LoyaltyError(422, "invalid_request", "Unknown event types: " + ", ".join(unknown) + ".",
                           {"events": unknown, "known": list(TYPES)})
    return sorted(set(types)) or None


def add(url, events=None, description=""):
    """Register a receiver; answers (endpoint, secret): the secret is never shown again."""
    addresses.check_url(url, current_app.config["LOYALTY_WEBHOOK_ALLOW_PRIVATE"])
    endpoint = WebhookEndpoint(url=url, events=check_types(events or ()), description=clip(description or "",
                                                                                          WebhookEndpoint.description),
                               secret=new_secret(), enabled=True, created_at=utcnow())
    db.session.add(endpoint)
    db.session.commit()
    return endpoint, endpoint.secret


def find(endpoint_id):
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise LoyaltyError(404, "not_found", "No such webhook endpoint.")
    return endpoint


def listing():
    return db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()


def disable(endpoint_id, reason="disabled by an admin"):
    endpoint = find(endpoint_id)
    endpoint.enabled, endpoint.disabled_at = False, utcnow()
    endpoint.disabled_reason = clip(reason, WebhookEndpoint.disabled_reason)
    delivery.park(db.session, endpoint.id)
    db.session.commit()
    return endpoint


def enable(endpoint_id):
    """Enabled again: its pending deliveries go on; events from while it was disabled can be
    sent with a replay of that time range."""
    endpoint = find(endpoint_id)
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = True, None, None
    delivery.unpark(db.session, endpoint.id)
    db.session.commit()
    return endpoint


def remove(endpoint_id):
    """Gone, with its deliveries and their log; the events stay for other endpoints."""
    endpoint = find(endpoint_id)
    deliveries = select(Delivery.id).where(Delivery.endpoint_id == endpoint.id)
    db.session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(deliveries)))
    db.session.execute(delete(Delivery).where(Delivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()


def rotate_secret(endpoint_id):
    """A new secret; the old one keeps signing for 24 hours. Answers (endpoint, new secret)."""
    endpoint = find(endpoint_id)
    now = utcnow()
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + OVERLAP
    endpoint.secret = new_secret()
    db.session.commit()
    return endpoint, endpoint.secret


def describe(endpoint):
    """What an admin sees of an endpoint (never its secrets)."""
    now = utcnow()
    return {"id": endpoint.id, "url": endpoint.url, "description": endpoint.description,
            "events": endpoint.events or list(TYPES), "all_events": not endpoint.events,
            "enabled": endpoint.enabled, "disabled_reason": endpoint.disabled_reason,
            "disabled_at": endpoint.disabled_at, "last_success_at": endpoint.last_success_at,
            "previous_secret_until": endpoint.previous_secret_until
            if endpoint.previous_secret_until and endpoint.previous_secret_until > now else None,
            "created_at": endpoint.created_at}
