"""Parallel webhooks for one customer on several gunicorn workers and PostgreSQL lose no
update: real HTTP, real processes, the exact final balance asserted."""
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask_migrate import upgrade

from loyalty.extensions import db
from tests import state
from tests.servers import Gunicorn
from tests.webhooks import purchase, refund, signature

PURCHASES, REFUNDS = 30, 10


@pytest.fixture
def e2e_app(postgres_server, app_factory):
    url = postgres_server.create_database("e2e_concurrency")
    app = app_factory(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    server = Gunicorn(url, workers=4)
    yield app, server
    server.stop()


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

    assert all(status == 200 for status, _ in answers), [a for a in answers if a[0] != 200][:3]
    statuses = [body["status"] for _, body in answers]
    assert statuses.count("duplicate") == PURCHASES
    assert statuses.count("processed") == PURCHASES + REFUNDS
    stored = state.customer(app, "c-busy")
    assert stored["pending"] == PURCHASES * 10 + 100 - REFUNDS * 5
    assert stored["lifetime_spend"] == PURCHASES * 1_000 - REFUNDS * 500
    assert state.ledger_sum(app, "c-busy") == {"pending": stored["pending"], "available": 0}
    assert state.order(app, "o-0")["fixed"] == 100                  # the welcome is the earliest purchase's
