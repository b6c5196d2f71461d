"""The webhooks' fast lane (loyalty/webhooks/intake.py): a well-formed signed event is
recorded below Flask; everything else reaches the views, which answer it as documented."""
import json

import pytest

from tests import state
from tests.test_logs import log_lines  # noqa: F401  (a fixture)
from tests.webhooks import paid_session, post_shop, post_stripe, purchase, signature, stripe_event


@pytest.fixture
def views_seen(app):
    """Paths of the requests that reached Flask's views."""
    seen = []
    app.before_request(lambda: seen.append(__import__("flask").request.path) and None)
    return seen


def test_a_well_formed_event_is_recorded_below_flask_with_the_views_answer(app, client, views_seen,
                                                                           log_lines):  # noqa: F811
    event = purchase(order="o-1")
    answer = post_shop(client, event)
    assert (answer.status_code, answer.get_json()) == (202, {"status": "accepted"})
    assert answer.headers["Content-Type"] == "application/json" and len(answer.headers["X-Request-Id"]) == 32
    again = post_shop(client, event)
    assert (again.status_code, again.get_json()) == (200, {"status": "duplicate"})
    other = post_shop(client, {"id": "evt-other", "type": "customer.updated", "created": 1795000000, "data": {}})
    assert (other.status_code, other.get_json()) == (200, {"status": "ignored"})
    stripe = post_stripe(client, stripe_event("checkout.session.completed", paid_session()))
    assert stripe.status_code == 202
    assert views_seen == []
    assert [status for _, _, status in state.events(app)] == ["queued", "ignored", "queued"]
    lines = [line for line in log_lines() if line["logger"] == "loyalty.requests"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", "/webhooks/shop", 202), ("POST", "/webhooks/shop", 200), ("POST", "/webhooks/shop", 200),
        ("POST", "/webhooks/stripe", 202)]
    assert lines[0]["request_id"] == answer.headers["X-Request-Id"]


def test_the_callers_request_id_is_kept(client, views_seen):
    body = json.dumps(purchase(order="o-1"))
    answer = client.post("/webhooks/shop", data=body, content_type="application/json",
                         headers={"Loyalty-Signature": signature(body, "shop_test_secret"), "X-Request-Id": "lb-7"})
    assert answer.status_code == 202 and answer.headers["X-Request-Id"] == "lb-7" and views_seen == []


def test_anything_else_is_answered_by_the_views(app, client, views_seen):
    event = purchase(order="o-1")
    bad = post_shop(client, event, secret="not-the-secret")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_signature"
    invalid = post_shop(client, {**event, "created": "yesterday"})
    assert invalid.status_code == 422 and invalid.get_json()["error"]["code"] == "invalid_request"
    in_dollars = purchase(order="o-2")
    in_dollars["data"]["order"]["total"]["currency"] = "USD"
    other_currency = post_shop(client, in_dollars)
    assert other_currency.status_code == 422 and other_currency.get_json()["error"]["code"] == "currency_mismatch"
    wrong_method = client.get("/webhooks/shop")
    assert wrong_method.status_code == 405
    assert views_seen == ["/webhooks/shop"] * 4
    assert state.events(app) == []
    # After all that, the same event still goes the fast lane, recorded once.
    assert post_shop(client, event).status_code == 202 and views_seen == ["/webhooks/shop"] * 4
    assert len(state.events(app)) == 1


def test_a_body_over_the_limit_is_refused_by_flask_before_it_is_read(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 100
    body = json.dumps(purchase(order="o-1"))
    assert len(body) > 100
    answer = post_shop(client, None, body=body)
    assert answer.status_code == 413 and answer.get_json()["error"]["details"] == {"max_bytes": 100}
    assert state.events(app) == []
