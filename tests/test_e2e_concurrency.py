"""Parallel webhooks for one customer on several gunicorn workers, applied by two queue
workers side by side on PostgreSQL, lose no update: real HTTP, real processes, the exact
final balance asserted."""
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import state
from tests.conftest import migrated_app
from tests.servers import Gunicorn, Worker, wait_until
from tests.webhooks import purchase, refund, signature

PURCHASES, REFUNDS = 30, 10


@pytest.fixture
def e2e_app(postgres_server, app_factory):
    url = postgres_server.create_database("e2e_concurrency")
    app = migrated_app(app_factory, url)
    server = Gunicorn(url, workers=4)
    workers = [Worker(url, "--batch-size", "7"), Worker(url, "--batch-size", "7")]
    yield app, server
    server.stop()
    for worker in workers:
        assert worker.stop() == 0, worker.output


def send(server, event):
    body = json.dumps(event)
    return server.request("POST", "/webhooks/shop", body, {"Loyalty-Signature": signature(body, "shop_test_secret")})


def test_parallel_purchases_refunds_and_duplicates_for_one_customer(e2e_app):
    app, server = e2e_app
    now = int(time.time())
    # Every purchase stays below gold, so each earns exactly 10 points whatever the order.
    purchases = [purchase(customer="c-busy", order=f"o-{i}", amount=1_000, created=now - 3600 + i)
                 for i in range(PURCHASES)]
    refunds = [refund(order=f"o-{i}", refund_id=f"r-{i}", amount=500, created=now - 60 + i) for i in range(REFUNDS)]
    deliveries = purchases + purchases + refunds       # each purchase delivered twice
    random.Random(7).shuffle(deliveries)
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda event: send(server, event), deliveries))

    assert all(status in (200, 202) for status, _ in answers), [a for a in answers if a[0] not in (200, 202)][:3]
    statuses = [body["status"] for _, body in answers]
    assert statuses.count("duplicate") == PURCHASES                  # the same event id twice
    assert statuses.count("accepted") == PURCHASES + REFUNDS
    wait_until(lambda: server.request("GET", "/health")[1]["queue"]["depth"] == 0)
    assert {status for _, _, status in state.events(app)} == {"processed"}
    stored = state.customer(app, "c-busy")
    assert stored["pending"] == PURCHASES * 10 + 100 - REFUNDS * 5
    assert stored["lifetime_spend"] == PURCHASES * 1_000 - REFUNDS * 500
    assert state.ledger_sum(app, "c-busy") == {"pending": stored["pending"], "available": 0}
    assert state.order(app, "o-0")["fixed"] == 100                  # the welcome is the earliest purchase's


def test_concurrent_redemptions_never_spend_more_than_the_balance_or_twice_per_key(e2e_app):
    from tests.api import make_key
    app, server = e2e_app
    runner = app.test_cli_runner()
    shop, support = make_key(runner, "shop"), make_key(runner, "support")
    assert send(server, purchase(customer="c-r", order="o-r", amount=1_000))[0] == 202
    wait_until(lambda: state.customer(app, "c-r") is not None)
    granted = server.request("POST", "/v1/support/customers/c-r/adjustments",
                             json.dumps({"points": 1_000, "reason": "seed"}), {"Authorization": f"Bearer {support}"})
    assert granted[0] == 201
    server.request("POST", "/v1/support/customers/c-r/adjustments", json.dumps({"points": 500, "reason": "seed"}),
                   {"Authorization": f"Bearer {support}"})

    def redeem(key):
        return server.request("POST", "/v1/customers/c-r/redemptions", json.dumps({"points": 600, "order_id": "o"}),
                              {"Authorization": f"Bearer {shop}", "Idempotency-Key": key})

    keys = [f"distinct-{i}" for i in range(8)] + ["same"] * 6
    random.Random(3).shuffle(keys)
    with ThreadPoolExecutor(max_workers=14) as pool:
        answers = list(zip(keys, pool.map(redeem, keys)))
    assert {status for _, (status, _) in answers} <= {201, 409}
    spent = {body["id"] for _, (status, body) in answers if status == 201}
    assert len(spent) == 2                                                     # 1500 pays for two of 600
    same = [(status, body.get("id")) for key, (status, body) in answers if key == "same"]
    assert len(set(same)) == 1                                                 # one key, one answer
    assert state.customer(app, "c-r")["available"] == 1_500 - 2 * 600
    assert state.ledger_sum(app, "c-r")["available"] == 300
