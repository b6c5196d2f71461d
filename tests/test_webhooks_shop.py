"""POST /webhooks/shop: signed purchases and refunds, stored once, booked in the ledger."""
import json
import time

import pytest

from loyalty.models import LedgerEntry, Order, WebhookEvent
from tests import state
from tests.api import bearer, make_key
from tests.webhooks import apply_queued, deliver_shop, money, post_shop, purchase, refund, status_of


def test_a_signed_purchase_is_accepted_then_applied_by_the_worker(app, client):
    response = post_shop(client, purchase(amount=12999, email="a@example.com", birthday="1990-05-17"))
    assert response.status_code == 202
    assert response.get_json() == {"status": "accepted"}
    assert state.events(app)[0][2] == "queued" and state.customer(app, "c-42") is None
    assert apply_queued(app) == 1
    assert state.customer(app, "c-42")["pending"] == 129 + 100
    assert state.entries(app, "c-42") == [("earn", 129, "pending"), ("welcome", 100, "pending")]
    assert state.ledger_sum(app, "c-42") == {"pending": 229, "available": 0}
    assert state.order(app, "o-9")["points"] == 129
    assert state.events(app)[0][2] == "processed"


def test_the_stored_event_keeps_the_raw_payload(app, client):
    event = purchase()
    post_shop(client, event)
    from loyalty.extensions import db
    with app.app_context():
        stored = db.session.query(WebhookEvent).one()
        assert json.loads(stored.payload) == event
        assert (stored.source, stored.event_id, stored.type) == ("shop", event["id"], "purchase.completed")


def test_a_redelivery_answers_duplicate_and_changes_nothing(app, client):
    event = purchase()
    assert deliver_shop(client, event) == "processed"
    before = state.entries(app, "c-42")
    again = post_shop(client, event)
    assert again.status_code == 200 and again.get_json() == {"status": "duplicate"}
    apply_queued(app)
    assert state.entries(app, "c-42") == before
    assert state.count(app, WebhookEvent) == 1


def test_a_redelivery_before_the_worker_ran_is_a_duplicate_too(app, client):
    event = purchase()
    assert post_shop(client, event).status_code == 202
    assert post_shop(client, event).get_json() == {"status": "duplicate"}
    apply_queued(app)
    assert state.customer(app, "c-42")["pending"] == 229


def test_the_same_order_under_another_event_id_counts_once(app, client):
    deliver_shop(client, purchase(order="o-1"))
    assert deliver_shop(client, purchase(order="o-1")) == "duplicate"
    assert state.customer(app, "c-42")["pending"] == 229
    assert state.count(app, Order) == 1


def test_the_same_order_twice_in_one_batch_counts_once(app, client):
    first, second = purchase(order="o-1"), purchase(order="o-1")
    post_shop(client, first), post_shop(client, second)
    assert apply_queued(app) == 2
    assert [status_of(app, "shop", e["id"]) for e in (first, second)] == ["processed", "duplicate"]
    assert state.customer(app, "c-42")["pending"] == 229 and state.count(app, Order) == 1


def test_an_order_id_of_another_customer_fails_with_order_conflict_and_changes_nothing(app, client):
    deliver_shop(client, purchase(customer="c-1", order="o-1"))
    event = purchase(customer="c-2", order="o-1")
    assert deliver_shop(client, event) == "failed"
    assert state.customer(app, "c-2") is None
    answer = client.get(f"/v1/events/shop/{event['id']}", headers=bearer(make_key(app.test_cli_runner(), "shop")))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "failed" and body["error"]["code"] == "order_conflict" and body["applied_at"] is None
    assert state.count(app, WebhookEvent) == 2          # kept, with its payload


def test_the_tier_before_a_purchase_sets_its_rate_and_a_later_purchase_gets_gold(app, client):
    deliver_shop(client, purchase(order="o-1", amount=100_000))        # 1000 + 100 welcome, now gold
    assert state.customer(app, "c-42")["tier"] == "gold"
    deliver_shop(client, purchase(order="o-2", amount=10_000))         # gold: 100 x 125 %
    assert state.order(app, "o-2")["points"] == 125
    assert state.customer(app, "c-42")["lifetime_spend"] == 110_000


def test_purchases_applied_in_one_batch_earn_as_if_applied_one_by_one(app, client):
    now = int(time.time())
    post_shop(client, purchase(order="o-1", amount=100_000, created=now - 20))   # gold from here on
    post_shop(client, purchase(order="o-2", amount=10_000, created=now - 10))    # earns at gold
    post_shop(client, purchase(customer="c-7", order="o-3", amount=5_000, created=now - 5))
    assert apply_queued(app) == 3
    assert state.order(app, "o-2")["points"] == 125
    assert state.customer(app, "c-42")["pending"] == 1000 + 100 + 125
    assert state.customer(app, "c-7")["pending"] == 50 + 100


def test_refunds_take_points_back_in_proportion_and_each_refund_id_counts_once(app, client):
    deliver_shop(client, purchase(amount=12999))
    assert deliver_shop(client, refund(refund_id="r-1", amount=5000)) == "processed"
    assert state.customer(app, "c-42")["pending"] == 229 - 49       # floor(129 x 5000 / 12999)
    assert deliver_shop(client, refund(refund_id="r-1", amount=5000)) == "duplicate"  # same refund, new event id
    deliver_shop(client, refund(refund_id="r-2", amount=7999))         # the rest: full refund
    assert state.customer(app, "c-42")["pending"] == 0              # welcome goes with a full refund
    assert state.customer(app, "c-42")["lifetime_spend"] == 0
    assert state.ledger_sum(app, "c-42") == {"pending": 0, "available": 0}
    assert [k for k, _, _ in state.entries(app, "c-42")].count("clawback") == 2


def test_a_refund_above_the_order_total_takes_no_more_than_the_order(app, client):
    deliver_shop(client, purchase(amount=10_000))
    deliver_shop(client, refund(amount=50_000))
    assert state.order(app, "o-9")["refunded"] == 10_000
    assert state.customer(app, "c-42")["pending"] == 0


def test_a_refund_that_takes_spend_below_gold_drops_the_tier_at_once(app, client):
    deliver_shop(client, purchase(order="o-1", amount=100_000))
    deliver_shop(client, refund(order="o-1", amount=1))
    assert state.customer(app, "c-42")["tier"] == "standard"


@pytest.mark.parametrize("header", [None, "", "t=abc", "v1=deadbeef", "t=1,v1=zz"])
def test_a_missing_or_malformed_signature_is_400_and_nothing_is_stored(app, client, header):
    body = json.dumps(purchase())
    headers = {} if header is None else {"Loyalty-Signature": header}
    response = client.post("/webhooks/shop", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_signature"
    assert state.count(app, WebhookEvent) == 0


def test_a_signature_with_another_secret_is_400(app, client):
    response = post_shop(client, purchase(), secret="not-the-secret")
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "bad_signature")


@pytest.mark.parametrize("offset", [-301, 360])
def test_a_stale_or_future_signature_timestamp_is_400(app, client, offset):
    response = post_shop(client, purchase(), timestamp=int(time.time()) + offset)
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "stale_signature")
    assert state.count(app, WebhookEvent) == 0


def test_several_v1_signatures_are_accepted_for_secret_rotation(app, client):
    from tests.webhooks import signature
    body = json.dumps(purchase())
    t = int(time.time())
    old = signature(body, "old-secret", t).split(",")[1]
    new = signature(body, "shop_test_secret", t)
    response = client.post("/webhooks/shop", data=body, content_type="application/json",
                           headers={"Loyalty-Signature": f"{new},{old}"})
    assert response.status_code == 202


def test_a_body_that_is_not_the_signed_body_is_refused(app, client):
    from tests.webhooks import signature
    signed = json.dumps(purchase(amount=100))
    tampered = signed.replace('"amount": 100', '"amount": 100000')
    response = client.post("/webhooks/shop", data=tampered, content_type="application/json",
                           headers={"Loyalty-Signature": signature(signed, "shop_test_secret")})
    assert response.status_code == 400
    assert state.count(app, WebhookEvent) == 0


def test_without_a_configured_secret_the_endpoint_answers_503(database_url, app_factory):
    client = app_factory(database_url, LOYALTY_WEBHOOK_SECRET=None).test_client()
    response = post_shop(client, purchase())
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "webhook_not_configured"


def _without(event, *path):
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


@pytest.mark.parametrize("event, status, code", [
    (_without(purchase(), "data", "order", "total"), 422, "invalid_request"),
    (_without(purchase(), "data", "customer", "id"), 422, "invalid_request"),
    (_without(purchase(), "id"), 422, "invalid_request"),
    (_without(purchase(), "created"), 422, "invalid_request"),
    (purchase(amount=-1), 422, "invalid_request"),
    (purchase(amount=10**15), 422, "invalid_request"),
    (purchase(amount=129.99), 422, "invalid_request"),
    (purchase(amount="12999"), 422, "invalid_request"),
    (purchase(amount=True), 422, "invalid_request"),
    (purchase(created=int(time.time()) + 3600), 422, "future_event"),
    (purchase(lines=[{"sku": "B", "amount": money(100, "USD")}]), 422, "invalid_request"),
    (purchase(lines=[{"sku": "B", "quantity": 0, "amount": money(100)}]), 422, "invalid_request"),
    (purchase(email="not-an-email"), 422, "invalid_request"),
    (purchase(birthday="1990-02-30"), 422, "invalid_request"),
    (refund(amount=0), 422, "invalid_request"),
    (refund(amount=-5), 422, "invalid_request"),
    ({**purchase(), "extra": 1}, 422, "invalid_request"),
])
def test_invalid_events_are_refused_with_the_error_format_and_nothing_is_stored(app, client, event, status, code):
    response = post_shop(client, event)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    assert state.count(app, WebhookEvent) == 0
    assert state.count(app, LedgerEntry) == 0


def test_another_currency_is_422_and_nothing_is_stored(app, client):
    event = purchase()
    event["data"]["order"]["total"]["currency"] = "USD"
    response = post_shop(client, event)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {"currency": "USD", "programme_currency": "EUR"}
    assert state.count(app, WebhookEvent) == 0


@pytest.mark.parametrize("body", ['{"id": ', "[1, 2]", "not json"])
def test_malformed_json_is_400(app, client, body):
    response = post_shop(client, None, body=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_request"
    assert state.count(app, WebhookEvent) == 0


def test_a_body_that_is_not_utf8_is_400(app, client):
    body = b'{"id": "\xff"}'
    t = int(time.time())
    from tests.webhooks import signature
    response = client.post("/webhooks/shop", data=body, content_type="application/json",
                           headers={"Loyalty-Signature": signature(body.decode("latin-1"), "shop_test_secret", t)})
    assert response.status_code == 400


def test_an_oversized_body_is_413(database_url, app_factory):
    client = app_factory(database_url, MAX_CONTENT_LENGTH=2048).test_client()
    event = purchase(lines=[{"sku": f"S-{i}", "amount": money(1)} for i in range(200)])
    response = post_shop(client, event)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_other_event_types_are_ignored_but_recorded(app, client):
    response = post_shop(client, {"id": "evt_x", "type": "customer.updated", "created": int(time.time()),
                                  "data": {}})
    assert response.status_code == 200 and response.get_json() == {"status": "ignored"}
    assert state.events(app) == [("shop", "evt_x", "ignored")]
    assert apply_queued(app) == 0


def test_a_refund_beyond_what_is_left_of_the_order_says_so_in_its_status(app, client):
    assert deliver_shop(client, purchase(customer="c-1", order="o-1", amount=10_000)) == "processed"
    assert deliver_shop(client, refund(order="o-1", refund_id="r-1", amount=6_000, event_id="evt-r1")) == "processed"
    assert deliver_shop(client, refund(order="o-1", refund_id="r-2", amount=6_000, event_id="evt-r2")) == "processed"
    first = client.get("/v1/events/shop/evt-r1", headers=_admin(app)).get_json()
    assert first["status"] == "processed" and first["error"] is None
    capped = client.get("/v1/events/shop/evt-r2", headers=_admin(app)).get_json()
    assert capped["status"] == "processed" and capped["error"]["code"] == "refund_capped"
    assert "20.00 EUR more than its total of 100.00 EUR" in capped["error"]["message"]
    assert state.customer(app, "c-1")["lifetime_spend"] == 0          # counted up to the total, no further
    assert state.customer(app, "c-1")["pending"] == 0                  # every point back, the welcome bonus too
    assert status_of(app, "shop", "evt-r2") == "processed"


def _admin(app):
    return bearer(make_key(app.test_cli_runner(), "admin"))
