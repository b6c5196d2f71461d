"""Several nodes on one PostgreSQL: two gunicorn instances and two `loyalty worker`
processes, the request limits shared through a real Redis. The limits hold across the
nodes, every balance is exact, and a Redis outage leaves the service serving (the limits
fail open, with a warning) instead of failing every request."""
import json

import pytest

from tests import state
from tests.api import bearer, make_key
from tests.conftest import migrated_app
from tests.redis_server import RedisServer
from tests.servers import Gunicorn, Worker, wait_until
from tests.webhooks import purchase, signature

CUSTOMERS, PURCHASES = 6, 5


@pytest.fixture
def redis():
    server = RedisServer().start()
    yield server
    server.destroy()


def post(node, event):
    body = json.dumps(event)
    status, answer = node.request("POST", "/webhooks/shop", body,
                                  {"Loyalty-Signature": signature(body, "shop_test_secret")})
    assert status == 202, answer


def pending(app, customers):
    return [(state.customer(app, f"c-{c}") or {}).get("pending") for c in range(customers)]


def test_two_nodes_share_the_limits_and_keep_every_balance_exact(postgres_server, app_factory, redis):
    url = postgres_server.create_database("several_nodes")
    app = migrated_app(app_factory, url)
    reader, limited = (make_key(app.test_cli_runner(), "support") for _ in range(2))
    settings = {"LOYALTY_RATELIMIT_STORAGE_URI": redis.url, "LOYALTY_RATE_LIMIT": "30 per minute"}
    nodes = [Gunicorn(url, workers=2, **settings), Gunicorn(url, workers=2, **settings)]
    workers = [Worker(url), Worker(url)]
    try:
        for i in range(CUSTOMERS * PURCHASES):              # every other event to the other node
            post(nodes[i % 2], purchase(customer=f"c-{i % CUSTOMERS}", order=f"o-{i}", amount=10_000,
                                        event_id=f"evt-{i}"))
        wait_until(lambda: pending(app, CUSTOMERS) == [PURCHASES * 100 + 100] * CUSTOMERS, timeout=60)
        # 5 purchases of 100.00 each: 100 points each and the 100 welcome bonus, all pending.
        for c in range(CUSTOMERS):
            status, balance = nodes[c % 2].request("GET", f"/v1/customers/c-{c}/balance", headers=bearer(reader))
            assert status == 200 and balance["points"] == {"available": 0, "pending": 600, "expiring": []}
            assert balance["lifetime_spend"] == {"amount": PURCHASES * 10_000, "currency": "EUR"}
            assert state.ledger_sum(app, f"c-{c}") == {"pending": 600, "available": 0}       # the ledger agrees

        # 30 a minute for the key, counted once across both nodes and their four processes
        # (counted in each process, it would have 120).
        statuses = [nodes[i % 2].request("GET", "/v1/customers/c-0/balance", headers=bearer(limited))[0]
                    for i in range(40)]
        assert statuses == [200] * 30 + [429] * 10

        redis.stop()                                      # Redis away: served uncounted, never a 500
        outage = [nodes[i % 2].request("GET", "/v1/customers/c-1/balance", headers=bearer(limited))[0]
                  for i in range(6)]
        assert outage == [200] * 6
        post(nodes[0], purchase(customer="c-0", order="o-late", amount=10_000, event_id="evt-late"))
        wait_until(lambda: pending(app, 1) == [700], timeout=60)
        redis.start()                                     # back, empty: counting again from zero
        back = [nodes[i % 2].request("GET", "/v1/customers/c-1/balance", headers=bearer(limited))[0]
                for i in range(31)]
        assert back == [200] * 30 + [429]
        for worker in workers:
            assert worker.stop() == 0, worker.output
    finally:
        for node in nodes:
            node.stop()
        for worker in workers:
            if worker.alive():
                worker.kill()
    assert "rate-limit storage unreachable" in nodes[0].output() + nodes[1].output()
