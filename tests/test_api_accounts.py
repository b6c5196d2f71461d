"""Enrolment, balance and history under /v1."""
import time

import pytest

from loyalty.api import schemas
from tests.api import bearer, make_key, token
from tests.webhooks import deliver_shop, purchase, refund


@pytest.fixture
def shop(runner):
    return bearer(make_key(runner, "shop"))


def test_enrol_then_update(client, shop):
    created = client.put("/v1/customers/c-1", json={"email": "a@example.com", "birthday": "1990-05-17"}, headers=shop)
    assert created.status_code == 201
    assert created.get_json() == {"id": "c-1", "email": "a@example.com", "birthday": "1990-05-17",
                                  "stripe_customer_id": None}
    updated = client.put("/v1/customers/c-1", json={"stripe_customer_id": "cus_1"}, headers=shop)
    assert updated.status_code == 200
    assert updated.get_json()["email"] == "a@example.com" and updated.get_json()["stripe_customer_id"] == "cus_1"


def test_enrolment_refuses_unknown_fields_and_bad_values(client, shop):
    for body in ({"points": 1000}, {"email": "nope"}, {"birthday": "1990-13-01"}, {"tier": "platinum"}):
        response = client.put("/v1/customers/c-1", json=body, headers=shop)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["code"] == "invalid_request"
    assert client.get("/v1/customers/c-1/balance", headers=shop).status_code == 404


def test_a_stripe_customer_of_another_customer_is_409(client, shop):
    client.put("/v1/customers/c-1", json={"stripe_customer_id": "cus_1"}, headers=shop)
    response = client.put("/v1/customers/c-2", json={"stripe_customer_id": "cus_1"}, headers=shop)
    assert response.status_code == 409


def test_a_known_customer_with_no_purchases_has_zeros_in_standard(client, shop):
    client.put("/v1/customers/c-1", json={}, headers=shop)
    body = client.get("/v1/customers/c-1/balance", headers=shop).get_json()
    assert body == {"customer_id": "c-1", "points": {"available": 0, "pending": 0, "expiring": []},
                    "tier": {"name": "standard", "since": None,
                             "next": {"name": "gold", "spend_needed": {"amount": 100_000, "currency": "EUR"}}},
                    "discount_percent": 0, "qualifying_spend": {"amount": 0, "currency": "EUR"},
                    "lifetime_spend": {"amount": 0, "currency": "EUR"}, "priority_support": False}


def test_balance_after_purchases_shows_tier_discount_and_spend(client, shop):
    deliver_shop(client, purchase(customer="c-42", order="o-1", amount=111_999))
    body = client.get("/v1/customers/c-42/balance", headers=bearer(token("c-42"))).get_json()
    assert body["points"] == {"available": 0, "pending": 1119 + 100, "expiring": []}
    assert body["tier"]["name"] == "gold" and body["tier"]["since"]
    assert body["tier"]["next"] == {"name": "platinum", "spend_needed": {"amount": 388_001, "currency": "EUR"}}
    assert body["discount_percent"] == 7
    assert body["qualifying_spend"] == body["lifetime_spend"] == {"amount": 111_999, "currency": "EUR"}
    assert body["priority_support"] is True
    # built JSON-ready, without a marshmallow dump: exactly what the documented schema makes
    assert schemas.Balance().dump(schemas.Balance().load(body)) == body


def test_unknown_customer_is_404(client, shop):
    response = client.get("/v1/customers/nobody/balance", headers=shop)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_transactions_newest_first_with_reasons_rules_and_cursor_pages(client, shop):
    now = int(time.time())
    for i in range(5):
        deliver_shop(client, purchase(order=f"o-{i}", amount=1_000 * (i + 1), created=now - 100 + i))
    deliver_shop(client, refund(order="o-4", refund_id="r-1", amount=1_000))
    first = client.get("/v1/customers/c-42/transactions?limit=3", headers=shop).get_json()
    assert [e["kind"] for e in first["entries"]] == ["clawback", "earn", "earn"]
    assert first["entries"][0]["order_id"] == "o-4" and "Refund r-1" in first["entries"][0]["reason"]
    assert first["entries"][1]["rules"] == ["base"] and first["entries"][1]["programme_version"]
    ids = [e["id"] for e in first["entries"]]
    second = client.get(f"/v1/customers/c-42/transactions?limit=3&cursor={first['next_cursor']}", headers=shop).get_json()
    third = client.get(f"/v1/customers/c-42/transactions?limit=3&cursor={second['next_cursor']}", headers=shop).get_json()
    all_ids = ids + [e["id"] for e in second["entries"]] + [e["id"] for e in third["entries"]]
    assert all_ids == sorted(all_ids, reverse=True) and len(all_ids) == 7      # 5 earn, 1 welcome, 1 clawback
    assert third["next_cursor"] is None
    everything = first["entries"] + second["entries"] + third["entries"]
    assert [e["rules"] for e in everything if e["kind"] == "welcome"] == [["welcome"]]


@pytest.mark.parametrize("query, status", [("limit=101", 422), ("limit=0", 422), ("limit=x", 422),
                                           ("cursor=%%%", 400), ("cursor=bm9wZQ", 400)])
def test_page_size_is_capped_and_bad_cursors_refused(client, shop, query, status):
    deliver_shop(client, purchase())
    assert client.get(f"/v1/customers/c-42/transactions?{query}", headers=shop).status_code == status


def test_a_malformed_json_body_is_400(client, shop):
    response = client.put("/v1/customers/c-1", data='{"email": ', content_type="application/json", headers=shop)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_request"
