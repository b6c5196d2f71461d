"""The systematic guard: hostile values (tests/hostile.py) driven through every webhook field
and every /v1 endpoint (body fields, path, query, headers), on both backends.

Whatever is sent, nothing answers 5xx, every error has the error format, an event that is
accepted is applied by the worker (never left failed or queued), a refused request stores
nothing, and every customer's cached balance equals their ledger. Bounded: a few hundred
examples per backend, so `make test` stays quick.
"""
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import Customer, LedgerEntry, Redemption, SupportAction, WebhookEvent
from tests import state
from tests.api import bearer, make_key
from tests.hostile import encode, hostile_text, hostile_values, path_segment
from tests.webhooks import (apply_queued, money, paid_session, post_shop, post_stripe, purchase, refund, refunded_charge,
                            signature, stripe_event, succeeded_intent)
from tests.conftest import TEST_SECRETS

def fuzz(examples):
    return settings(max_examples=examples, deadline=None, suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
        HealthCheck.filter_too_much])
SETTLED = {"processed", "duplicate", "parked", "ignored"}


@pytest.fixture
def fuzz_app(database_url, app, app_factory):        # `app` empties the database afterwards
    return app_factory(database_url, LOYALTY_RATE_LIMIT="1000000 per minute",
                       LOYALTY_FAILED_AUTH_LIMIT="1000000 per minute")


def _set(document, path, value):
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = value


def _assert_error_format(response):
    if response.status_code >= 400:
        error = response.get_json()["error"]
        assert error["code"] and error["message"] and isinstance(error["details"], dict)


def _assert_cached_balances_equal_the_ledger(app):
    with app.app_context():
        ids = db.session.scalars(select(Customer.id)).all()
    for customer_id in ids:
        stored = state.customer(app, customer_id)
        assert state.ledger_sum(app, customer_id) == {"pending": stored["pending"], "available": stored["available"]}


def _empty(app):
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


# Webhooks: (template, fields read, the valid event delivered first so a refund has its order).

def _line():
    return {"sku": "B-1", "category": "books", "quantity": 1, "amount": money(12999)}


WEBHOOKS = {
    "shop purchase": (
        lambda n: purchase(customer=f"c-{n}", order=f"o-{n}", lines=[_line()], email="a@example.com",
                           birthday="1990-05-17"), None,
        [("id",), ("type",), ("created",), ("data",), ("data", "customer"), ("data", "customer", "id"),
         ("data", "customer", "email"), ("data", "customer", "birthday"), ("data", "order"), ("data", "order", "id"),
         ("data", "order", "total"), ("data", "order", "total", "amount"), ("data", "order", "total", "currency"),
         ("data", "order", "lines"), ("data", "order", "lines", 0), ("data", "order", "lines", 0, "sku"),
         ("data", "order", "lines", 0, "category"), ("data", "order", "lines", 0, "quantity"),
         ("data", "order", "lines", 0, "amount", "amount"), ("data", "order", "lines", 0, "amount", "currency"),
         ("data", "unknown")]),
    "shop refund": (
        lambda n: refund(order=f"o-{n}", refund_id=f"r-{n}", amount=5000),
        lambda n: purchase(customer=f"c-{n}", order=f"o-{n}"),
        [("id",), ("created",), ("data", "order", "id"), ("data", "refund"), ("data", "refund", "id"),
         ("data", "refund", "amount"), ("data", "refund", "amount", "amount"),
         ("data", "refund", "amount", "currency")]),
    "stripe checkout": (
        lambda n: stripe_event("checkout.session.completed", paid_session(client_reference_id=f"c-{n}",
                                                                          payment_intent=f"pi_{n}")), None,
        [("id",), ("type",), ("created",), ("data",), ("data", "object"), ("data", "object", "id"),
         ("data", "object", "amount_total"), ("data", "object", "currency"), ("data", "object", "payment_status"),
         ("data", "object", "payment_intent"), ("data", "object", "client_reference_id"),
         ("data", "object", "customer"), ("data", "object", "metadata"),
         ("data", "object", "metadata", "loyalty_customer_id")]),
    "stripe payment intent": (
        lambda n: stripe_event("payment_intent.succeeded", succeeded_intent(
            intent_id=f"pi_{n}", metadata={"loyalty_customer_id": f"c-{n}"}, customer=f"cus_{n}")), None,
        [("data", "object", "id"), ("data", "object", "amount_received"), ("data", "object", "currency"),
         ("data", "object", "customer"), ("data", "object", "metadata", "loyalty_customer_id")]),
    "stripe refund": (
        lambda n: stripe_event("charge.refunded", refunded_charge(5000, payment_intent=f"pi_{n}", charge_id=f"ch_{n}")),
        lambda n: stripe_event("checkout.session.completed", paid_session(client_reference_id=f"c-{n}",
                                                                          payment_intent=f"pi_{n}")),
        [("data", "object", "id"), ("data", "object", "amount_refunded"), ("data", "object", "currency"),
         ("data", "object", "payment_intent")]),
}


def _post(client, source, body_text):
    if source == "shop":
        return post_shop(client, None, body=body_text)
    return client.post("/webhooks/stripe", data=body_text, content_type="application/json",
                       headers={"Stripe-Signature": signature(body_text, TEST_SECRETS["STRIPE_WEBHOOK_SECRET"])})


def test_no_webhook_field_makes_a_5xx_a_failed_event_or_a_half_stored_one(fuzz_app):
    client, counter = fuzz_app.test_client(), iter(range(10**6))

    @fuzz(150)
    @given(kind=st.sampled_from(sorted(WEBHOOKS)), data=st.data())
    def example(kind, data):
        _empty(fuzz_app)
        make, before, paths = WEBHOOKS[kind]
        n, source = next(counter), kind.split()[0]
        if before is not None:
            first = before(n)
            assert (post_shop if source == "shop" else post_stripe)(client, first).status_code == 202
        event = make(n)
        for path in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True), label="paths"):
            try:
                _set(event, path, data.draw(hostile_values, label=".".join(map(str, path))))
            except (KeyError, IndexError, TypeError):
                pass            # a parent was replaced by a non-container: the body is hostile anyway
        response = _post(client, source, encode(event))
        assert response.status_code < 500, response.get_data(as_text=True)
        _assert_error_format(response)
        apply_queued(fuzz_app)
        with fuzz_app.app_context():
            outcomes = db.session.execute(select(WebhookEvent.status, WebhookEvent.error_code)).all()
        assert all(status in SETTLED for status, _ in outcomes), outcomes
        _assert_cached_balances_equal_the_ledger(fuzz_app)

    example()


# /v1: every endpoint, with a hostile value in a body field, the path, the query or a header.

V1 = [
    ("put", "/v1/customers/{id}", {"email": "a@example.com", "birthday": "1990-05-17", "stripe_customer_id": "cus_1"},
     "shop"),
    ("get", "/v1/customers/{id}/balance", None, "shop"),
    ("get", "/v1/customers/{id}/transactions", None, "support"),
    ("post", "/v1/customers/{id}/quote", {"order_total": money(10000), "redeem_points": 100}, "shop"),
    ("post", "/v1/customers/{id}/redemptions", {"points": 100, "order_id": "o-1", "order_total": money(10000)}, "shop"),
    ("get", "/v1/support/customers/{id}", None, "support"),
    ("post", "/v1/support/customers/{id}/priority", {"reason": "complaint", "until": "2030-01-01T00:00:00+00:00"},
     "support"),
    ("post", "/v1/support/customers/{id}/adjustments", {"points": 10, "reason": "sorry"}, "support"),
    ("get", "/v1/events/shop/{id}", None, "admin"),
]


def _field_paths(body, prefix=()):
    for key, value in (body or {}).items():
        yield prefix + (key,)
        if isinstance(value, dict):
            yield from _field_paths(value, prefix + (key,))


def _stored_counts(app):
    with app.app_context():
        return [db.session.scalar(select(func.count()).select_from(model))
                for model in (LedgerEntry, SupportAction, Redemption)]


def _header_safe(text):
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return "\r" not in text and "\n" not in text


def test_no_v1_input_makes_a_5xx_or_stores_anything_when_refused(fuzz_app):
    client, runner = fuzz_app.test_client(), fuzz_app.test_cli_runner()
    keys = {scope: make_key(runner, scope) for scope in ("shop", "support", "admin")}
    assert client.put("/v1/customers/c-1", json={}, headers=bearer(keys["shop"])).status_code == 201
    assert client.post("/v1/support/customers/c-1/adjustments", json={"points": 500, "reason": "start"},
                       headers=bearer(keys["support"])).status_code == 201

    @fuzz(200)
    @given(endpoint=st.sampled_from(V1), data=st.data())
    def example(endpoint, data):
        method, path, body, scope = endpoint
        body = None if body is None else {k: (dict(v) if isinstance(v, dict) else v) for k, v in body.items()}
        segment, query = "c-1", {"limit": "5"}
        headers = {"Authorization": f"Bearer {keys[scope]}", "Idempotency-Key": "k-1"}
        where = data.draw(st.sampled_from(["path", "query", "header", "authorization", "body"]
                                          + [".".join(p) for p in _field_paths(body)]), label="where")
        if where == "path":
            segment = path_segment(data.draw(hostile_text, label="path"))
            assume(segment)
        elif where == "query":
            query[data.draw(st.sampled_from(["limit", "cursor"]))] = data.draw(hostile_text, label="query")
        elif where in ("header", "authorization"):
            value = data.draw(hostile_text.filter(_header_safe), label=where)
            if where == "header":
                headers["Idempotency-Key"] = value
            else:
                headers["Authorization"] = data.draw(st.sampled_from(["Bearer ", "bearer  ", ""])) + value
        elif where == "body":
            body = data.draw(hostile_values, label="body")
        else:
            _set(body, tuple(where.split(".")), data.draw(hostile_values, label=where))
        before = _stored_counts(fuzz_app)
        kwargs = {"headers": headers, "query_string": "&".join(f"{k}={path_segment(v)}" for k, v in query.items())}
        if method != "get":
            kwargs.update(data=encode(body), content_type="application/json")
        response = getattr(client, method)(path.format(id=segment), **kwargs)
        assert response.status_code < 500, (where, response.get_data(as_text=True))
        _assert_error_format(response)
        if response.status_code >= 400:
            assert _stored_counts(fuzz_app) == before
        _assert_cached_balances_equal_the_ledger(fuzz_app)

    example()
