"""Events out as they run in production: webhooks into a real gunicorn, a real `loyalty
worker` process applying them and sending events to a real receiver on loopback, on a real
PostgreSQL. A worker killed with SIGKILL in the middle of a delivery delivers it again, with
the same id, once restarted."""
import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import Delivery
from tests.conftest import migrated_app
from tests.receiver import Receiver
from tests.servers import Gunicorn, Worker, wait_until
from tests.test_events_out import register
from tests.webhooks import purchase, signature
import json


@pytest.fixture
def database(postgres_server, app_factory, request):
    url = postgres_server.create_database("e2e_" + request.node.name[:40].lower())
    return migrated_app(app_factory, url), url


def post(server, event):
    body = json.dumps(event)
    status, answer = server.request("POST", "/webhooks/shop", body, {"Loyalty-Signature": signature(
        body, "shop_test_secret")})
    assert status == 202, answer


def delivery_rows(app):
    with app.app_context():
        rows = db.session.execute(select(Delivery.status, Delivery.attempts)).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def test_webhooks_in_events_out_through_real_processes(database):
    app, url = database
    receiver = Receiver()
    _, secret = register(app, receiver.url)
    server, worker = Gunicorn(url, workers=2), Worker(url)
    try:
        for i in range(20):
            post(server, purchase(customer=f"c-{i % 4}", order=f"o-{i}", amount=30_000, event_id=f"evt-{i}"))
        wait_until(lambda: len(receiver.requests) >= 20 + 4 * 2, timeout=60)    # 20 earned, 4 x (gold, priority)
        events = receiver.events(secret)                                         # every signature checks out
        assert sorted(e["type"] for e in events).count("points.earned") == 20
        for customer in ("c-0", "c-1", "c-2", "c-3"):
            mine = sorted(e["sequence"] for e in events if e["customer_id"] == customer)
            assert mine == list(range(1, 8))                                     # 5 earned + tier + priority
        assert worker.stop() == 0
    finally:
        server.stop()
        receiver.close()


def test_a_worker_killed_mid_delivery_delivers_again_with_the_same_id(database):
    app, url = database
    receiver = Receiver(hang_first=1, hang_seconds=120)
    _, secret = register(app, receiver.url)
    first = Worker(url, LOYALTY_WEBHOOK_TIMEOUT="60")
    try:
        with app.app_context():
            from loyalty import inbox
            event = purchase(customer="c-1", order="o-1", event_id="evt-1")
            assert inbox.record("shop", event["id"], event["type"], json.dumps(event))
            db.session.remove()
        wait_until(lambda: len(receiver.requests) == 1, timeout=60)              # in the receiver's hands
        first.kill()                                                             # kill -9 mid-delivery
        receiver.release.set()
        assert delivery_rows(app) == [("pending", 0)]                            # nothing was recorded
        second = Worker(url)
        wait_until(lambda: delivery_rows(app) == [("delivered", 1)], timeout=60)
        assert second.stop() == 0
        ids = receiver.ids()
        assert len(ids) == 2 and ids[0] == ids[1]
        assert [e["type"] for e in receiver.events(secret)] == ["points.earned"] * 2
    finally:
        if first.alive():
            first.kill()
        receiver.close()
