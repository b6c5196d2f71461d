"""POST /webhooks/stripe with Stripe's own object shapes, signed by the stripe package."""
import time

import pytest

from loyalty.models import Order, WebhookEvent
from tests import state
from tests.webhooks import deliver_stripe, paid_session, post_stripe, refunded_charge, stripe_event, succeeded_intent


def test_a_paid_checkout_session_is_a_purchase_keyed_by_its_payment_intent(app, client):
    assert deliver_stripe(client, stripe_event("checkout.session.completed", paid_session(amount=12999))) == "processed"
    assert state.customer(app, "c-42")["pending"] == 229
    assert state.order(app, "pi_1")["customer"] == "c-42"


def test_a_purchase_reported_by_session_and_payment_intent_counts_once(app, client):
    deliver_stripe(client, stripe_event("checkout.session.completed", paid_session()))
    intent = succeeded_intent(metadata={"loyalty_customer_id": "c-42"})
    assert deliver_stripe(client, stripe_event("payment_intent.succeeded", intent)) == "duplicate"
    assert state.customer(app, "c-42")["pending"] == 229
    assert state.count(app, Order) == 1


def test_the_customer_is_found_by_each_rule_in_turn(app, client):
    by_metadata = paid_session(client_reference_id=None, payment_intent="pi_a", metadata={"loyalty_customer_id": "c-meta"})
    deliver_stripe(client, stripe_event("checkout.session.completed", by_metadata))
    assert state.order(app, "pi_a")["customer"] == "c-meta"
    linked = paid_session(client_reference_id="c-linked", payment_intent="pi_b", customer="cus_9")
    deliver_stripe(client, stripe_event("checkout.session.completed", linked))
    # a later payment intent with only the Stripe customer finds the loyalty customer linked to it
    deliver_stripe(client, stripe_event("payment_intent.succeeded", succeeded_intent(intent_id="pi_c", customer="cus_9")))
    assert state.order(app, "pi_c")["customer"] == "c-linked"
    deliver_stripe(client, stripe_event("payment_intent.succeeded", succeeded_intent(intent_id="pi_d", customer="cus_new")))
    assert state.order(app, "pi_d")["customer"] == "cus_new"


def test_a_session_without_any_customer_or_not_paid_is_ignored(app, client):
    nobody = paid_session(client_reference_id=None)
    assert post_stripe(client, stripe_event("checkout.session.completed", nobody)).get_json() == {"status": "ignored"}
    unpaid = paid_session(payment_intent="pi_2")
    unpaid["payment_status"] = "unpaid"
    assert post_stripe(client, stripe_event("checkout.session.completed", unpaid)).get_json() == {"status": "ignored"}
    assert state.count(app, Order) == 0
    assert [outcome for _, _, outcome in state.events(app)] == ["ignored", "ignored"]


def test_a_session_without_payment_intent_is_keyed_by_its_own_id(app, client):
    session = paid_session(payment_intent=None)
    deliver_stripe(client, stripe_event("checkout.session.completed", session))
    assert state.order(app, session["id"])["points"] == 129


def test_charge_refunded_is_cumulative_so_a_stale_event_changes_nothing(app, client):
    deliver_stripe(client, stripe_event("checkout.session.completed", paid_session(amount=12999)))
    now = int(time.time())
    deliver_stripe(client, stripe_event("charge.refunded", refunded_charge(8000), created=now))
    after_8000 = state.customer(app, "c-42")["pending"]
    assert after_8000 == 229 - 129 * 8000 // 12999
    stale = deliver_stripe(client, stripe_event("charge.refunded", refunded_charge(5000), created=now - 10))
    assert stale == "processed"
    assert state.customer(app, "c-42")["pending"] == after_8000
    deliver_stripe(client, stripe_event("charge.refunded", refunded_charge(12999), created=now + 1))
    assert state.customer(app, "c-42") | {"tier_since": None} == \
        {"pending": 0, "available": 0, "tier": "standard", "lifetime_spend": 0, "tier_since": None}


def test_refunds_in_either_order_end_the_same(app, client):
    deliver_stripe(client, stripe_event("checkout.session.completed", paid_session(amount=100_000, payment_intent="pi_x")))
    now = int(time.time())
    deliver_stripe(client, stripe_event("charge.refunded", refunded_charge(60_000, 100_000, payment_intent="pi_x"), created=now))
    deliver_stripe(client, stripe_event("charge.refunded", refunded_charge(30_000, 100_000, payment_intent="pi_x"), created=now - 5))
    assert state.order(app, "pi_x")["refunded"] == 60_000
    assert state.customer(app, "c-42")["pending"] == 1100 - 600
    assert state.ledger_sum(app, "c-42") == {"pending": 500, "available": 0}


def test_lower_case_currency_is_the_programme_currency_and_another_is_422(app, client):
    assert deliver_stripe(client, stripe_event("checkout.session.completed", paid_session(currency="eur"))) == "processed"
    usd = post_stripe(client, stripe_event("checkout.session.completed", paid_session(currency="usd", payment_intent="pi_2")))
    assert usd.status_code == 422 and usd.get_json()["error"]["code"] == "currency_mismatch"
    assert state.count(app, WebhookEvent) == 1


def test_other_stripe_event_types_are_ignored(app, client):
    response = post_stripe(client, stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.get_json() == {"status": "ignored"}


@pytest.mark.parametrize("field, value", [("amount_total", None), ("amount_total", -1), ("currency", "euro"),
                                          ("amount_total", 1.5)])
def test_invalid_stripe_objects_are_422(app, client, field, value):
    session = paid_session()
    session[field] = value
    response = post_stripe(client, stripe_event("checkout.session.completed", session))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]["fields"]
    assert state.count(app, WebhookEvent) == 0


def test_a_stripe_signature_made_with_the_shop_secret_is_refused(app, client):
    response = post_stripe(client, stripe_event("checkout.session.completed", paid_session()), secret="shop_test_secret")
    assert response.status_code == 400
