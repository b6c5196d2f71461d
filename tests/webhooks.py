"""Building and signing webhook deliveries the way Stripe and shops send them.

Stripe events start from Stripe's own object shapes (tests/fixtures/stripe/, from
Stripe's public OpenAPI fixtures) with the fields of a paid session, a succeeded payment
intent or a refunded charge filled in; every delivery is signed with the `stripe` package.
"""
import copy
import itertools
import json
import time
from pathlib import Path

import stripe

from tests.conftest import TEST_SECRETS

FIXTURES = Path(__file__).parent / "fixtures" / "stripe"
_ids = itertools.count(1)


def fixture(name):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def signature(body, secret, timestamp=None):
    return stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)


def post_shop(client, event, secret=TEST_SECRETS["LOYALTY_WEBHOOK_SECRET"], timestamp=None, body=None):
    body = json.dumps(event) if body is None else body
    return client.post("/webhooks/shop", data=body, content_type="application/json",
                       headers={"Loyalty-Signature": signature(body, secret, timestamp)})


def post_stripe(client, event, secret=TEST_SECRETS["STRIPE_WEBHOOK_SECRET"], timestamp=None):
    body = json.dumps(event)
    return client.post("/webhooks/stripe", data=body, content_type="application/json",
                       headers={"Stripe-Signature": signature(body, secret, timestamp)})


def apply_queued(app):
    """Apply every recorded event, as `loyalty worker` does (the same batch applier)."""
    from loyalty.worker import drain
    return drain(app)


def status_of(app, source, event_id):
    from loyalty import inbox
    with app.app_context():
        found = inbox.find(source, event_id)
        return None if found is None else found.status


def _deliver(client, post, source, event, **options):
    response = post(client, event, **options)
    assert response.status_code in (200, 202), response.get_json()
    answer = response.get_json()["status"]
    if answer != "accepted":
        return answer
    apply_queued(client.application)
    return status_of(client.application, source, event["id"])


def deliver_shop(client, event, **options):
    """Post a shop event and apply it; answers its final status (processed, parked, duplicate,
    failed...) or the endpoint's answer when it was not queued (duplicate, ignored)."""
    return _deliver(client, post_shop, "shop", event, **options)


def deliver_stripe(client, event, **options):
    return _deliver(client, post_stripe, "stripe", event, **options)


def money(amount, currency="EUR"):
    return {"amount": amount, "currency": currency}


def purchase(customer="c-42", order="o-9", amount=12999, created=None, event_id=None, lines=None, **customer_fields):
    return {"id": event_id or f"evt_{next(_ids)}", "type": "purchase.completed",
            "created": int(time.time()) if created is None else created,
            "data": {"customer": {"id": customer, **customer_fields},
                     "order": {"id": order, "total": money(amount), "lines": lines or []}}}


def refund(order="o-9", refund_id="r-1", amount=5000, created=None, event_id=None):
    return {"id": event_id or f"evt_{next(_ids)}", "type": "purchase.refunded",
            "created": int(time.time()) if created is None else created,
            "data": {"order": {"id": order}, "refund": {"id": refund_id, "amount": money(amount)}}}


def stripe_event(kind, obj, created=None, event_id=None):
    event = fixture("event")
    event.update(id=event_id or f"evt_{next(_ids)}", type=kind,
                 created=int(time.time()) if created is None else created)
    event["data"] = {"object": obj}
    return event


def paid_session(client_reference_id="c-42", amount=12999, currency="eur", payment_intent="pi_1", **fields):
    session = fixture("checkout_session")
    session.update(amount_total=amount, amount_subtotal=amount, currency=currency, status="complete",
                   payment_status="paid", payment_intent=payment_intent, client_reference_id=client_reference_id,
                   **fields)
    return session


def succeeded_intent(amount=12999, currency="eur", intent_id="pi_1", metadata=None, customer=None):
    intent = fixture("payment_intent")
    intent.update(id=intent_id, amount=amount, amount_received=amount, currency=currency, status="succeeded",
                  metadata=metadata or {}, customer=customer)
    return intent


def refunded_charge(amount_refunded, amount=12999, currency="eur", payment_intent="pi_1", charge_id="ch_1"):
    charge = copy.deepcopy(fixture("charge"))
    charge.update(id=charge_id, amount=amount, amount_captured=amount, amount_refunded=amount_refunded,
                  currency=currency, payment_intent=payment_intent, refunded=amount_refunded >= amount)
    return charge
