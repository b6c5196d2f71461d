"""Support flags, manual priority and goodwill, with who did it."""
from datetime import datetime, timedelta, timezone

import pytest

from tests import state
from tests.api import bearer, make_key
from tests.webhooks import deliver_shop, purchase


@pytest.fixture
def support(runner):
    return bearer(make_key(runner, "support", "helpdesk"))


def test_flags_by_tier(client, support):
    deliver_shop(client, purchase(customer="c-std", order="o-1", amount=1_000))
    deliver_shop(client, purchase(customer="c-gold", order="o-2", amount=100_000))
    assert client.get("/v1/support/customers/c-std", headers=support).get_json() == {
        "customer_id": "c-std", "priority": False, "tier": "standard", "response_target_hours": 14,
        "reasons": [], "manual": None}
    gold = client.get("/v1/support/customers/c-gold", headers=support).get_json()
    assert (gold["priority"], gold["response_target_hours"], gold["reasons"]) == (True, 2, ["tier:gold"])


def test_manual_priority_shows_with_reason_until_and_by(client, support):
    deliver_shop(client, purchase(customer="c-1", order="o-1", amount=1_000))
    until = (datetime.now(timezone.utc) + timedelta(days=7)).replace(microsecond=0).isoformat()
    response = client.post("/v1/support/customers/c-1/priority", json={"reason": "lost parcel", "until": until},
                           headers=support)
    assert response.status_code == 200
    body = client.get("/v1/support/customers/c-1", headers=support).get_json()
    assert (body["priority"], body["response_target_hours"], body["reasons"]) == (True, 2, ["manual"])
    assert body["manual"]["reason"] == "lost parcel" and body["manual"]["by"].endswith("(helpdesk)")
    assert datetime.fromisoformat(body["manual"]["until"]) == datetime.fromisoformat(until)


@pytest.mark.parametrize("body", [{"reason": "x", "until": "2020-01-01T00:00:00+00:00"},
                                  {"reason": "x", "until": "2099-01-01T00:00:00"},
                                  {"reason": "", "until": "2099-01-01T00:00:00+00:00"},
                                  {"until": "2099-01-01T00:00:00+00:00"}])
def test_bad_priority_requests_are_422(client, support, body):
    deliver_shop(client, purchase(customer="c-1", order="o-1", amount=1_000))
    assert client.post("/v1/support/customers/c-1/priority", json=body, headers=support).status_code == 422


def test_goodwill_is_available_at_once_capped_and_recorded_with_who(app, client, support):
    deliver_shop(client, purchase(customer="c-1", order="o-1", amount=1_000))
    granted = client.post("/v1/support/customers/c-1/adjustments", json={"points": 1_000, "reason": "late delivery"},
                          headers=support)
    assert granted.status_code == 201
    assert granted.get_json()["available"] == 1_000 and granted.get_json()["by"].endswith("(helpdesk)")
    for points in (1_001, 0, -5):
        refused = client.post("/v1/support/customers/c-1/adjustments", json={"points": points, "reason": "x"},
                              headers=support)
        assert refused.status_code == 422
    assert state.customer(app, "c-1")["available"] == 1_000
    history = client.get("/v1/customers/c-1/transactions", headers=support).get_json()["entries"]
    assert history[0]["kind"] == "adjustment" and history[0]["reason"] == "late delivery"
    assert history[0]["by"].endswith("(helpdesk)")


def test_support_on_an_unknown_customer_is_404(client, support):
    assert client.get("/v1/support/customers/ghost", headers=support).status_code == 404
    assert client.post("/v1/support/customers/ghost/adjustments", json={"points": 5, "reason": "x"},
                       headers=support).status_code == 404
    assert client.post("/v1/support/customers/ghost/priority",
                       json={"reason": "x", "until": "2099-01-01T00:00:00+00:00"}, headers=support).status_code == 404
