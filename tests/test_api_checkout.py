"""Quotes and redemptions: money, so idempotent, race-free and never below zero."""

import pytest

from tests import state
from tests.api import bearer, make_key
from tests.webhooks import deliver_shop, purchase, refund


@pytest.fixture
def shop(runner):
    return bearer(make_key(runner, "shop"))


@pytest.fixture
def rich(client, runner):
    """c-42 with 1,500 available points (goodwill) and 1,119.99 lifetime spend (7 %)."""
    support = bearer(make_key(runner, "support"))
    deliver_shop(client, purchase(order="o-1", amount=111_999))
    for _ in range(2):
        client.post("/v1/support/customers/c-42/adjustments", json={"points": 750, "reason": "test"}, headers=support)


def euros(amount):
    return {"amount": amount, "currency": "EUR"}


def test_quote_with_discount_and_points(client, shop, rich):
    response = client.post("/v1/customers/c-42/quote", json={"order_total": euros(10_000), "redeem_points": 1_000},
                           headers=shop)
    body = response.get_json()
    assert response.status_code == 200
    assert (body["discount_percent"], body["discount"], body["points_redeemable_max"]) == (7, euros(700), 1_500)
    assert (body["redeem_amount"], body["total_after"], body["redeem_refused"]) == (euros(1_000), euros(8_300), None)


def test_quote_says_why_points_cannot_be_redeemed(client, shop, rich):
    body = client.post("/v1/customers/c-42/quote", json={"order_total": euros(10_000), "redeem_points": 100},
                       headers=shop).get_json()
    assert body["redeem_amount"] == euros(0) and body["redeem_refused"]["code"] == "below_minimum"


@pytest.mark.parametrize("body", [{"order_total": euros(-1)}, {"order_total": {"amount": 100, "currency": "USD"}},
                                  {"order_total": euros(100), "coupon": "X"}, {}, {"order_total": euros(1.5)}])
def test_bad_quotes_are_422(client, shop, rich, body):
    assert client.post("/v1/customers/c-42/quote", json=body, headers=shop).status_code == 422


def redeem(client, shop, points, key, order_id="o-100", **extra):
    return client.post("/v1/customers/c-42/redemptions", json={"points": points, "order_id": order_id, **extra},
                       headers={**shop, "Idempotency-Key": key})


def test_redemption_spends_once_per_idempotency_key(app, client, shop, rich):
    first = redeem(client, shop, 600, "k-1")
    assert first.status_code == 201
    assert first.get_json()["amount_off"] == euros(600) and first.get_json()["points"] == 600
    again = redeem(client, shop, 600, "k-1")
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert state.customer(app, "c-42")["available"] == 900
    conflict = redeem(client, shop, 700, "k-1")
    assert conflict.status_code == 409 and conflict.get_json()["error"]["code"] == "idempotency_key_reused"
    assert state.customer(app, "c-42")["available"] == 900
    assert state.ledger_sum(app, "c-42")["available"] == 900


def test_redemption_needs_an_idempotency_key(client, shop, rich):
    response = client.post("/v1/customers/c-42/redemptions", json={"points": 600, "order_id": "o"}, headers=shop)
    assert response.status_code == 422
    assert "Idempotency-Key" in str(response.get_json()["error"]["details"])


def test_redemption_refusals(app, client, shop, rich):
    assert redeem(client, shop, 2_000, "k-a").get_json()["error"]["code"] == "insufficient_points"
    assert redeem(client, shop, 2_000, "k-a").status_code == 409
    assert redeem(client, shop, 400, "k-b").status_code == 422                      # below the minimum
    capped = redeem(client, shop, 1_000, "k-c", order_total=euros(1_000))           # over 50 % of 10.00
    assert capped.status_code == 422 and capped.get_json()["error"]["code"] == "above_order_maximum"
    assert redeem(client, shop, 600, "k-d", order_total={"amount": 5_000, "currency": "USD"}).status_code == 422
    assert state.customer(app, "c-42")["available"] == 1_500


def test_a_negative_available_balance_refuses_redemption(app, client, shop):
    deliver_shop(client, purchase(order="o-1", amount=100_000))                      # 1000 + 100 welcome, pending
    release_everything(app, "c-42")                                                 # the return window passed
    assert redeem(client, shop, 1_100, "k-1").status_code == 201                   # all spent: available 0
    deliver_shop(client, refund(order="o-1", amount=100_000))                         # points already spent
    assert state.customer(app, "c-42")["available"] == -1_100
    response = redeem(client, shop, 500, "k-2")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "negative_balance"


def release_everything(app, customer_id):
    """Book the release of every pending point, as the release job does: two entries, pending to available."""
    from datetime import datetime, timezone

    from loyalty.extensions import db
    from loyalty.models import Customer, Order
    from loyalty.services import ledger
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        now = datetime.now(timezone.utc)
        for order in db.session.query(Order).filter_by(customer_id=customer_id):
            ledger.book(customer, "release", -order.points_pending, "pending", now, order=order, reason="released")
            ledger.book(customer, "release", order.points_pending, "available", now, order=order, reason="released")
            order.points_pending = 0
        db.session.commit()


def test_redemption_for_an_unknown_customer_is_404(client, shop):
    assert client.post("/v1/customers/ghost/redemptions", json={"points": 600, "order_id": "o"},
                       headers={**shop, "Idempotency-Key": "k"}).status_code == 404
