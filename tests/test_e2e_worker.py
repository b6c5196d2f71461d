"""The worker as it runs in production: real `loyalty worker` processes on a real PostgreSQL.

A worker killed with SIGKILL in the middle of its work loses and doubles nothing; two
workers share one queue and the same customers with exact balances; PostgreSQL stopped
under load makes ingest answer 503 while the worker waits and then carries on; a poison
event ends `failed` while the rest of its batch is applied; NOTIFY wakes an idle worker.
"""
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from loyalty import inbox
from loyalty.extensions import db
from loyalty.models import LedgerEntry, WebhookEvent
from tests import state
from tests.conftest import migrated_app
from tests.servers import Gunicorn, Worker, wait_until
from tests.webhooks import paid_session, purchase, signature, stripe_event

CUSTOMERS = 40


@pytest.fixture
def database(postgres_server, app_factory, request):
    url = postgres_server.create_database("e2e_" + request.node.name[:40].lower())
    return migrated_app(app_factory, url), url


def queue_purchases(app, count, customers=CUSTOMERS):
    """Record `count` purchases straight into the inbox (as the endpoint does), each customer's in
    time order, each below gold; answers the points each customer should end with."""
    now = int(time.time()) - 7200
    expected = {}
    with app.app_context():
        for i in range(count):
            customer = f"c-{i % customers}"
            event = purchase(customer=customer, order=f"o-{i}", amount=500, created=now + i, event_id=f"evt-{i}")
            assert inbox.record("shop", event["id"], event["type"], json.dumps(event))
            expected[customer] = expected.get(customer, 100) + 5           # welcome once, 5 a purchase
    assert max(count // customers, 1) * 500 < 100_000                        # nobody reaches gold
    return expected


def counts(app):
    with app.app_context():
        rows = db.session.execute(select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status)).all()
        db.session.remove()
        return dict(rows)


def assert_applied_exactly_once(app, expected, purchases):
    assert counts(app) == {"processed": purchases}
    for customer, points in expected.items():
        assert state.customer(app, customer)["pending"] == points, customer
        assert state.ledger_sum(app, customer) == {"pending": points, "available": 0}
    with app.app_context():
        earned = db.session.scalar(select(func.count()).where(LedgerEntry.kind == "earn"))
        db.session.remove()
    assert earned == purchases
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output


def test_a_worker_killed_in_the_middle_loses_and_doubles_nothing(database):
    app, url = database
    expected = queue_purchases(app, 4_000)
    worker = Worker(url, "--batch-size", "250")
    wait_until(lambda: counts(app).get("processed", 0) >= 250, interval=0.02)
    worker.kill()
    done = counts(app)
    assert 0 < done.get("processed", 0) < 4_000 and done["queued"] > 0       # stopped part-way
    assert done.get("processed", 0) % 250 == 0                              # whole batches only
    restarted = Worker(url, "--batch-size", "250")
    wait_until(lambda: counts(app).get("queued", 0) == 0)
    assert restarted.stop() == 0
    assert_applied_exactly_once(app, expected, 4_000)


def test_two_workers_share_the_queue_and_the_same_customers_exactly(database):
    app, url = database
    expected = queue_purchases(app, 3_000, customers=25)
    workers = [Worker(url, "--batch-size", "100"), Worker(url, "--batch-size", "100")]
    wait_until(lambda: counts(app).get("queued", 0) == 0)
    for worker in workers:
        assert worker.stop() == 0, worker.output
    assert_applied_exactly_once(app, expected, 3_000)
    with app.app_context():
        attempts = db.session.scalars(select(WebhookEvent.attempts).distinct()).all()
    assert attempts == [1]                                                  # each event applied once


def test_sigterm_finishes_the_batch_in_hand_and_exits_cleanly(database):
    app, url = database
    queue_purchases(app, 2_000)
    worker = Worker(url, "--batch-size", "200")
    wait_until(lambda: counts(app).get("processed", 0) > 0, interval=0.02)
    assert worker.stop() == 0
    assert "worker stopped" in worker.output
    done = counts(app)
    assert done.get("processed", 0) % 200 == 0                              # no half batch


def test_notify_wakes_an_idle_worker_at_once(database):
    app, url = database
    worker = Worker(url, "--poll", "60")                                    # it would poll only once a minute
    time.sleep(2)                                                           # let it go idle on LISTEN
    server = Gunicorn(url, workers=1)
    try:
        event = purchase(customer="c-1", order="o-1")
        body = json.dumps(event)
        assert server.request("POST", "/webhooks/shop", body, {"Loyalty-Signature": signature(body, "shop_test_secret")})[0] == 202
        wait_until(lambda: counts(app).get("processed") == 1, timeout=20)    # well before the next poll
    finally:
        server.stop()
        worker.stop()


def test_a_poison_event_fails_alone_and_the_rest_of_its_batch_is_applied(database):
    """An event whose writes the database refuses (here a constraint added for the test, as
    a bug in applying would make one) fails alone; the rest of its batch is applied."""
    app, url = database
    queue_purchases(app, 30, customers=3)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE orders ADD CONSTRAINT poison CHECK (order_key <> 'pi_poison')")
        poison = stripe_event("checkout.session.completed", paid_session(client_reference_id="c-poison",
                                                                          payment_intent="pi_poison"))
        assert inbox.record("stripe", poison["id"], poison["type"], json.dumps(poison))
    queue_purchases_after = purchase(customer="c-9", order="o-after", amount=1_000, event_id="evt-after")
    with app.app_context():
        inbox.record("shop", "evt-after", "purchase.completed", json.dumps(queue_purchases_after))
    worker = Worker(url, "--batch-size", "500")
    wait_until(lambda: counts(app).get("queued", 0) == 0)
    assert worker.stop() == 0
    assert counts(app) == {"processed": 31, "failed": 1}
    with app.app_context():
        failed = inbox.find("stripe", poison["id"])
        assert failed.error_code == "apply_error" and failed.applied_at is None
        assert "INSERT" not in failed.error_message and "pi_poison" not in failed.error_message
        assert json.loads(failed.payload) == poison                          # kept for a retry after a fix
    assert state.customer(app, "c-9")["pending"] == 110
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["events", "list", "--status", "failed"])
    assert listed.exit_code == 0 and json.loads(listed.output.splitlines()[0])["id"] == poison["id"]
    retried = runner.invoke(args=["events", "retry", poison["id"]])
    assert retried.exit_code == 0 and "1 failed event queued again" in retried.output
    assert counts(app)["queued"] == 1


def test_postgresql_stopped_under_load_ingest_answers_503_and_the_worker_resumes(own_postgres, app_factory):
    own_server = own_postgres
    url = own_server.create_database("outage_under_load")
    app = migrated_app(app_factory, url)
    server = Gunicorn(url, workers=2)
    worker = Worker(url, "--batch-size", "50")
    now = int(time.time()) - 3600
    events = [purchase(customer=f"c-{i % 10}", order=f"o-{i}", amount=1_000, created=now + i, event_id=f"evt-{i}")
              for i in range(300)]

    def send(event):
        body = json.dumps(event)
        return server.request("POST", "/webhooks/shop", body, {"Loyalty-Signature": signature(body, "shop_test_secret")})

    try:
        with ThreadPoolExecutor(4) as pool:
            first = list(pool.map(send, events[:100]))
            own_server.stop()
            during = list(pool.map(send, events[100:200]))
            assert worker.alive()                                             # waiting, not dead
            own_server.start()
            own_server.wait_until_accepting()
            after = list(pool.map(send, events[200:]))
        assert {status for status, _ in first} == {202}
        assert {status for status, _ in during} == {503}
        assert all(body["error"]["code"] == "storage_unavailable" for _, body in during)
        # The senders retry what was refused; the events arrive once more.
        wait_until(lambda: send(events[100])[0] in (200, 202), timeout=60)
        with ThreadPoolExecutor(4) as pool:
            retried = list(pool.map(send, events[101:200]))
        assert {status for status, _ in retried} <= {202, 200} and {status for status, _ in after} <= {202, 503}
        for i, (status, _) in enumerate(after):                               # a pool that saw the outage may refuse once
            if status == 503:
                wait_until(lambda: send(events[200 + i])[0] in (200, 202), timeout=60)
        wait_until(lambda: counts(app).get("queued", 0) == 0 and sum(counts(app).values()) == 300, timeout=120)
        assert worker.alive()
    finally:
        server.stop()
        code = worker.stop()
    assert code == 0, worker.output
    assert counts(app) == {"processed": 300}
    for customer in range(10):
        assert state.customer(app, f"c-{customer}")["pending"] == 100 + 30 * 10
    with app.app_context():
        db.engine.dispose()
