"""Input an attacker (or a careless integration) sends: every case found by probing, on both
backends. None may answer 5xx, lose a refund or slip past a limit."""
import base64
import json
import time

import pytest

from loyalty.inputs import MAX_JSON_DEPTH, clip, fitted_key
from loyalty.models import LedgerEntry, TimelineEvent
from tests import state
from tests.api import bearer, make_key, token
from tests.webhooks import (deliver_shop, deliver_stripe, paid_session, post_shop, post_stripe, purchase, refund,
                            refunded_charge, stripe_event)

NOT_STORABLE = ["a\x00b", "\x00", "a\ud800b", "\udfff"]


@pytest.fixture
def shop(runner):
    return bearer(make_key(runner, "shop"))


@pytest.fixture
def support(runner):
    return bearer(make_key(runner, "support", name="Helpdesk Zendesk bot"))


def _error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]
    return body["error"]


# The refund that was never applied: ids long enough that the composed reason passed 500.

def test_a_refund_with_long_order_and_refund_ids_takes_the_points_back(app, client):
    order = "o" * 255
    assert deliver_shop(client, purchase(customer="c-long", order=order, amount=10000)) == "processed"
    assert state.customer(app, "c-long")["pending"] > 0
    assert deliver_shop(client, refund(order=order, refund_id="r" * 255, amount=10000)) == "processed"
    assert state.customer(app, "c-long")["pending"] == 0
    assert state.ledger_sum(app, "c-long") == {"pending": 0, "available": 0}
    reasons = [e.reason for e in _ledger(app, "c-long")]
    assert all(len(reason) <= 500 for reason in reasons) and any(reason.endswith("…") for reason in reasons)


def _ledger(app, customer_id):
    from sqlalchemy import select

    from loyalty.extensions import db
    with app.app_context():
        return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.customer_id == customer_id)))


# Ids as long as Stripe documents them.

def test_a_stripe_client_reference_id_of_200_characters_earns_points(app, client):
    customer = "c" * 200
    event = stripe_event("checkout.session.completed", paid_session(client_reference_id=customer, payment_intent="pi_a"))
    assert deliver_stripe(client, event) == "processed"
    assert state.customer(app, customer)["pending"] > 0


def test_stripe_ids_of_255_characters_are_taken_and_a_refund_on_them_takes_points_back(app, client):
    intent, charge = "pi_" + "x" * 252, "ch_" + "y" * 252
    event = stripe_event("checkout.session.completed", paid_session(client_reference_id="c-s", payment_intent=intent),
                         event_id="evt_" + "e" * 251)
    assert deliver_stripe(client, event) == "processed"
    refunded = stripe_event("charge.refunded", refunded_charge(12999, payment_intent=intent, charge_id=charge))
    assert deliver_stripe(client, refunded) == "processed"      # its refund key is fitted to the column
    assert state.customer(app, "c-s")["pending"] == 0


def test_an_event_recorded_before_these_checks_is_checked_again_by_the_worker_and_kept_failed(app, client):
    """The worker reads the stored raw body with the same checks as the endpoint, so an event
    recorded by an older release with a NUL in its customer id fails, visibly, instead of
    reaching the database."""
    from loyalty import inbox
    from tests.webhooks import apply_queued, status_of
    event = purchase(customer="a\x00b")
    with app.app_context():
        assert inbox.record("shop", event["id"], event["type"], json.dumps(event))
    apply_queued(app)
    assert status_of(app, "shop", event["id"]) == "failed"
    with app.app_context():
        found = inbox.find("shop", event["id"])
        assert found.error_code == "invalid_request" and json.loads(found.payload) == event
    assert state.count(app, TimelineEvent) == 0


@pytest.mark.parametrize("field, value", [
    ("id", "evt_" + "e" * 252), ("type", "t" * 65),
])
def test_stripe_event_ids_and_types_longer_than_their_columns_are_422_naming_the_field(client, field, value):
    event = stripe_event("checkout.session.completed", paid_session())
    event[field] = value
    assert field in _error(post_stripe(client, event), 422)["details"]["fields"]


@pytest.mark.parametrize("field, value", [
    ("payment_intent", "pi_" + "x" * 253), ("client_reference_id", "c" * 256), ("id", "cs_" + "x" * 253),
    ("customer", {"id": "cus_" + "x" * 252}),
])
def test_stripe_object_ids_longer_than_their_columns_are_422(client, field, value):
    event = stripe_event("checkout.session.completed", paid_session(**{field: value}))
    assert field in _error(post_stripe(client, event), 422)["details"]["fields"]


# Text a database cannot store.

@pytest.mark.parametrize("bad", NOT_STORABLE)
def test_nul_and_lone_surrogates_in_shop_webhook_fields_are_422(app, client, bad):
    for event, where in [(purchase(customer=bad), ("customer", "id")), (purchase(order=bad), ("order", "id")),
                         (refund(refund_id=bad), ("refund", "id"))]:
        error = _error(post_shop(client, event, body=json.dumps(event)), 422)
        assert where[1] in error["details"]["fields"][where[0]]
    event = purchase()
    event["id"] = bad
    assert "id" in _error(post_shop(client, event, body=json.dumps(event)), 422)["details"]["fields"]
    assert state.count(app, TimelineEvent) == 0 and state.events(app) == []


@pytest.mark.parametrize("bad", NOT_STORABLE)
def test_nul_and_lone_surrogates_in_v1_bodies_and_paths_are_422(app, client, shop, support, bad):
    assert client.put("/v1/customers/c-1", json={}, headers=shop).status_code == 201
    cases = [
        ("put", "/v1/customers/c-1", {"stripe_customer_id": bad}, shop, "stripe_customer_id"),
        ("put", "/v1/customers/c-1", {"email": f"a{bad}@example.com"}, shop, "email"),
        ("post", "/v1/support/customers/c-1/adjustments", {"points": 5, "reason": bad}, support, "reason"),
        ("post", "/v1/support/customers/c-1/priority", {"reason": bad, "until": "2030-01-01T00:00:00+00:00"},
         support, "reason"),
        ("post", "/v1/customers/c-1/redemptions", {"points": 1, "order_id": bad}, shop, "order_id"),
    ]
    for method, path, body, headers, field in cases:
        response = getattr(client, method)(path, data=json.dumps(body), content_type="application/json",
                                           headers={**headers, "Idempotency-Key": "k-1"})
        assert field in _error(response, 422)["details"]["json"], (path, body)
    assert state.customer(app, "c-1")["available"] == 0 and state.customer(app, "c-1")["tier"] == "standard"
    if "\x00" not in bad:
        return      # a URL cannot carry a lone surrogate: it is not UTF-8 (werkzeug reads such bytes as U+FFFD)
    for path in [f"/v1/customers/{bad}/balance", f"/v1/support/customers/{bad}", f"/v1/customers/{bad}/transactions"]:
        assert "customer_id" in _error(client.get(path, headers=support), 422)["details"]["path"]
    assert _error(client.get(f"/v1/events/shop/{bad}", headers=bearer(make_key(client.application.test_cli_runner(),
                                                                                "admin"))), 422)


def test_a_nul_in_a_query_string_or_an_idempotency_key_is_422(client, shop, support):
    client.put("/v1/customers/c-1", json={}, headers=shop)
    assert "cursor" in _error(client.get("/v1/customers/c-1/transactions?cursor=a%00b", headers=support),
                              422)["details"]["query"]
    response = client.post("/v1/customers/c-1/redemptions", json={"points": 1, "order_id": "o-1"},
                           headers={**shop, "Idempotency-Key": "k\x00"})
    assert response.status_code == 422


def test_a_customer_id_as_long_as_its_column_is_enrolled_and_one_longer_is_422_naming_it(client, shop):
    assert client.put("/v1/customers/" + "c" * 255, json={}, headers=shop).status_code == 201
    error = _error(client.put("/v1/customers/" + "c" * 256, json={}, headers=shop), 422)
    assert error["details"] == {"path": {"customer_id": ["Longer than 255 characters."]}}


# Parsing that recursion, huge numbers or constants could break.

def _deep(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("body", [_deep(20_000), '{"a": ' + _deep(MAX_JSON_DEPTH) + "}"])
def test_deep_json_is_400_in_webhooks_and_v1_bodies(client, shop, body):
    assert _error(post_shop(client, None, body=body), 400)["code"] == "malformed_request"
    response = client.put("/v1/customers/c-1", data=body, content_type="application/json", headers=shop)
    assert _error(response, 400)["details"] == {"max_depth": MAX_JSON_DEPTH}


def test_json_exactly_as_deep_as_the_limit_is_read_and_one_level_more_is_400(client):
    def event(depth):       # the event, data, object and metadata are four levels
        return stripe_event("checkout.session.completed",
                            paid_session(metadata={"note": json.loads(_deep(depth - 4))}, payment_intent=f"pi_{depth}"))
    assert post_stripe(client, event(MAX_JSON_DEPTH)).status_code == 202
    assert _error(post_stripe(client, event(MAX_JSON_DEPTH + 1)), 400)["details"] == {"max_depth": MAX_JSON_DEPTH}


@pytest.mark.parametrize("number", ["9" * 5000, "NaN", "Infinity", "-Infinity"])
def test_huge_integers_and_non_numbers_are_400(client, shop, number):
    body = '{"points": %s, "reason": "x"}' % number
    response = client.put("/v1/customers/c-1", data=body, content_type="application/json", headers=shop)
    assert _error(response, 400)["code"] == "malformed_request"
    assert "set_int_max_str_digits" not in response.get_data(as_text=True)
    event = json.dumps(purchase()).replace('"amount": 12999', '"amount": ' + number, 1)
    assert _error(post_shop(client, None, body=event), 400)["code"] == "malformed_request"


def test_integers_below_the_digit_limit_but_past_every_range_are_422(client, shop, support):
    client.put("/v1/customers/c-1", json={}, headers=shop)
    response = client.post("/v1/support/customers/c-1/adjustments", data='{"points": %s, "reason": "x"}' % ("9" * 4000),
                           content_type="application/json", headers=support)
    assert "points" in _error(response, 422)["details"]["json"]
    event = purchase(amount=10**40)
    assert _error(post_shop(client, event), 422)["code"] == "invalid_request"


# Dates and times.

@pytest.mark.parametrize("until", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "2201-01-01T00:00:00Z"])
def test_a_manual_priority_until_outside_1900_2200_is_422(client, shop, support, until):
    client.put("/v1/customers/c-1", json={}, headers=shop)
    response = client.post("/v1/support/customers/c-1/priority", json={"reason": "x", "until": until}, headers=support)
    assert "until" in _error(response, 422)["details"]["json"]
    assert client.get("/v1/support/customers/c-1", headers=support).get_json()["manual"] is None


@pytest.mark.parametrize("birthday", ["0001-01-01", "1899-12-31", "9999-12-31"])
def test_a_birthday_outside_1900_2200_is_422_in_enrolment_and_webhooks(client, shop, birthday):
    assert "birthday" in _error(client.put("/v1/customers/c-1", json={"birthday": birthday}, headers=shop),
                                422)["details"]["json"]
    error = _error(post_shop(client, purchase(birthday=birthday)), 422)
    assert "birthday" in error["details"]["fields"]["customer"]


def test_a_history_cursor_past_the_bigint_range_is_400(client, shop, support):
    client.put("/v1/customers/c-1", json={}, headers=shop)
    for forged in [f"e{2**63}", "e99999999999999999999999999", "e-5", "e0"]:
        cursor = base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")
        response = client.get(f"/v1/customers/c-1/transactions?cursor={cursor}", headers=support)
        assert _error(response, 400)["code"] == "malformed_request"


# Limits count per credential as authentication reads it.

def test_every_spelling_of_one_key_shares_one_rate_allowance(app, database_url, app_factory):
    app = app_factory(database_url, LOYALTY_RATE_LIMIT="3 per minute")
    client, key = app.test_client(), make_key(app.test_cli_runner(), "support")
    spellings = [f"Bearer {key}", f"bearer {key}", f"BEARER   {key}", f"Bearer {key}  "]
    statuses = [client.get("/v1/support/customers/nobody", headers={"Authorization": s}).status_code
                for s in spellings]
    assert statuses == [404, 404, 404, 429]


# What a customer sees of staff.

def test_a_customer_reads_by_support_where_staff_read_the_key(app, client, shop, support):
    client.put("/v1/customers/c-1", json={}, headers=shop)
    assert client.post("/v1/support/customers/c-1/adjustments", json={"points": 50, "reason": "Sorry"},
                       headers=support).status_code == 201
    mine = client.get("/v1/customers/c-1/transactions", headers=bearer(token("c-1"))).get_json()["entries"]
    assert [entry["by"] for entry in mine] == ["support"]
    assert "key:" not in json.dumps(mine) and "Zendesk" not in json.dumps(mine)
    staff = client.get("/v1/customers/c-1/transactions", headers=support).get_json()["entries"]
    assert staff[0]["by"].startswith("key:") and "Helpdesk Zendesk bot" in staff[0]["by"]


def test_a_key_with_a_255_character_name_records_a_who_that_fits_its_column(app, client, runner, shop):
    client.put("/v1/customers/c-1", json={}, headers=shop)
    long_named = bearer(make_key(runner, "support", name="n" * 255))
    response = client.post("/v1/support/customers/c-1/adjustments", json={"points": 5, "reason": "x"},
                           headers=long_named)
    assert response.status_code == 201 and len(response.get_json()["by"]) == 255
    response = client.post("/v1/support/customers/c-1/priority",
                           json={"reason": "x", "until": "2030-01-01T00:00:00+00:00"}, headers=long_named)
    assert response.status_code == 200 and len(response.get_json()["manual"]["by"]) == 255


# Customer tokens have a maximum lifetime.

def test_a_token_living_longer_than_the_maximum_is_refused(app, client, shop):
    client.put("/v1/customers/c-1", json={}, headers=shop)
    now = int(time.time())
    day = 24 * 3600
    assert client.get("/v1/customers/c-1/balance", headers=bearer(token("c-1", expires_in=day))).status_code == 200
    refused = [token("c-1", expires_in=day + 120),                        # no iat: counted from now
               token("c-1", expires_in=3600 * 24 * 365 * 3000),
               token("c-1", expires_in=3600, iat=now - day)]              # iat + 25 h
    for credential in refused:
        assert _error(client.get("/v1/customers/c-1/balance", headers=bearer(credential)), 401)
    fine = token("c-1", expires_in=3600, iat=now - day + 7200)
    assert client.get("/v1/customers/c-1/balance", headers=bearer(fine)).status_code == 200


def test_the_maximum_token_lifetime_is_configurable(app, database_url, app_factory, shop, client):
    client.put("/v1/customers/c-1", json={}, headers=shop)
    short = app_factory(database_url, LOYALTY_TOKEN_MAX_AGE=600).test_client()
    assert short.get("/v1/customers/c-1/balance", headers=bearer(token("c-1", expires_in=500))).status_code == 200
    assert short.get("/v1/customers/c-1/balance", headers=bearer(token("c-1", expires_in=900))).status_code == 401


@pytest.mark.parametrize("subject", ["\x00", "c" * 256, "a\ud800"])
def test_a_token_whose_subject_cannot_be_a_customer_id_is_401(client, subject):
    response = client.get("/v1/customers/c-1/balance", headers=bearer(token(subject)))
    assert response.status_code in (401, 422)      # 422 when the path check answers first
    assert response.status_code < 500


@pytest.mark.parametrize("credential", ["lk_\x00_x", "lk_" + "a" * 40 + "_x", "lk_abc\x00def_x"])
def test_api_keys_that_cannot_be_looked_up_are_401(client, credential):
    _error(client.get("/v1/support/customers/c-1", headers={"Authorization": f"Bearer {credential}"}), 401)


# Composed text fits its column by construction.

def test_clip_and_fitted_key_fit_their_columns_whatever_the_input():
    assert clip("short", LedgerEntry.reason) == "short"
    long = clip("x" * 10_000, LedgerEntry.reason)
    assert len(long) == 500 and long.endswith("…")
    assert fitted_key("ch_1:500", TimelineEvent.refund_key) == "ch_1:500"
    one, other = fitted_key("c" * 300 + ":1", TimelineEvent.refund_key), fitted_key("c" * 300 + ":2", TimelineEvent.refund_key)
    assert len(one) == len(other) == 255 and one != other
    assert fitted_key("c" * 300 + ":1", TimelineEvent.refund_key) == one        # the same key every time


# The command line holds operators' input to the same rules.

@pytest.mark.parametrize("args", [
    ["keys", "create", "--scope", "support", "--name", "n" * 256],
    ["keys", "create", "--scope", "support", "--name", "a\x00b"],
    ["keys", "revoke", "ab\x00cd"],
    ["events", "retry", "evt\x00"],
    ["jobs", "run", "--now", "9999-12-31T00:00:00+00:00"],
    ["jobs", "run", "--now", "0001-01-01T00:00:00+00:00"],
])
def test_command_line_values_that_cannot_be_stored_are_usage_errors(runner, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 2, result.output
    assert "Error" in result.output and "Traceback" not in result.output


def test_a_token_whose_exp_is_not_a_number_is_401(client):
    import jwt

    from tests.conftest import TEST_SECRETS
    forged = jwt.encode({"sub": "c-1", "exp": str(int(time.time()) + 600)}, TEST_SECRETS["LOYALTY_TOKEN_SECRET"],
                        algorithm="HS256")
    _error(client.get("/v1/customers/c-1/balance", headers=bearer(forged)), 401)
