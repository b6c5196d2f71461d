"""Effective dating: each purchase is evaluated under the programme version in force at its
purchase time, however late it arrives; a version published for a later moment takes over
at that moment in every process (web and worker) without a restart."""
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import LedgerEntry, Order
from tests import state
from tests.api import bearer, make_key
from tests.conftest import TEST_SECRETS, migrated_app
from tests.servers import Gunicorn, Worker, wait_until
from tests.versions import publish
from tests.webhooks import deliver_shop, purchase, refund, signature

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = (ROOT / "rules" / "default_programme.toml").read_text()
# Two points per 1.00, and a 2 % discount from the first cent of lifetime spend.
DOUBLE = DEFAULT.replace('version = "default-2026.1"', 'version = "double"').replace(
    "[earning]\npoints = 1", "[earning]\npoints = 2").replace(
    "[[discounts]]\nfrom = 0\npercent = 0", "[[discounts]]\nfrom = 0\npercent = 2")


def orders_of(app, customer):
    """order key -> (points earned, version) and each order's ledger entries (kind, points, version)."""
    with app.app_context():
        orders = {row.order_key: (row.points_earned, row.programme_version) for row in db.session.scalars(
            select(Order).where(Order.customer_id == customer))}
        entries = [(row.order_key, row.kind, row.points, row.programme_version) for row in db.session.execute(
            select(Order.order_key, LedgerEntry.kind, LedgerEntry.points, LedgerEntry.programme_version)
            .join(Order, LedgerEntry.order_id == Order.id).where(LedgerEntry.customer_id == customer)
            .order_by(LedgerEntry.id))]
        db.session.remove()
    return orders, entries


def test_purchases_before_a_version_stay_under_the_old_one_even_when_they_arrive_late(app, client):
    now = datetime.now(timezone.utc)
    takes_over = publish(app, DOUBLE, effective_from=now + timedelta(seconds=1.5))
    hour_ago = int(now.timestamp()) - 3600
    assert deliver_shop(client, purchase(customer="c", order="before", amount=10_000, created=hour_ago)) \
        == "processed"
    time.sleep(max(0.0, takes_over.timestamp() + 1.05 - time.time()))
    assert deliver_shop(client, purchase(customer="c", order="after", amount=10_000, created=int(time.time()))) \
        == "processed"
    # Late: placed before "before" (so it takes the welcome bonus), arriving after the new version.
    assert deliver_shop(client, purchase(customer="c", order="late", amount=10_000, created=hour_ago - 600)) \
        == "processed"
    orders, entries = orders_of(app, "c")
    assert orders == {"late": (100, "default-2026.1"), "before": (100, "default-2026.1"), "after": (200, "double")}
    assert ("after", "earn", 200, "double") in entries
    assert not [entry for entry in entries if entry[0] == "after" and entry[1] == "correction"]
    # The replay moved the welcome bonus to the late first purchase; "before" keeps its 100 points.
    assert [entry for entry in entries if entry[0] == "before"] == [
        ("before", "earn", 100, "default-2026.1"), ("before", "welcome", 100, "default-2026.1"),
        ("before", "correction", -100, "default-2026.1")]
    assert state.customer(app, "c")["pending"] == 100 + 100 + 100 + 200


def test_a_refund_claws_back_what_the_order_earned_under_its_own_version(app, client):
    now = publish(app, DOUBLE)
    created = int(now.timestamp()) - 3600             # bought under the first version
    assert deliver_shop(client, purchase(customer="r", order="o", amount=20_000, created=created)) == "processed"
    time.sleep(max(0.0, now.timestamp() + 1.05 - time.time()))    # webhook times are whole seconds
    assert deliver_shop(client, refund(order="o", refund_id="r1", amount=10_000)) == "processed"
    orders, entries = orders_of(app, "r")
    assert orders["o"] == (200, "default-2026.1")
    assert ("o", "clawback", -100, "double") in entries             # half of the 200 it earned, not of 400


def _cli(url, *args):
    env = {**os.environ, **TEST_SECRETS, "LOYALTY_DATABASE_URL": url}
    result = subprocess.run([sys.executable, "-c", "from loyalty.cli import main; main()", *args], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _post(server, event):
    body = json.dumps(event)
    status, answer = server.request("POST", "/webhooks/shop", body,
                                    {"Loyalty-Signature": signature(body, TEST_SECRETS["LOYALTY_WEBHOOK_SECRET"])})
    assert status == 202, answer


def test_a_scheduled_version_takes_over_in_every_running_process(postgres_server, app_factory, tmp_path):
    url = postgres_server.create_database("e2e_effective")
    app = migrated_app(app_factory, url)
    server = Gunicorn(url, workers=2, LOYALTY_PROGRAMME_REFRESH_SECONDS="1")
    worker = Worker(url, "--batch-size", "50")
    try:
        shop = make_key(app.test_cli_runner(), "shop")
        _post(server, purchase(customer="e", order="before", amount=10_000, created=int(time.time()), event_id="e-1"))
        assert wait_until(lambda: state.customer(app, "e") is not None and state.customer(app, "e")["pending"] == 200,
                          timeout=60)
        path = tmp_path / "double.toml"
        path.write_text(DOUBLE)
        draft = _cli(url, "programme", "draft", str(path)).strip().splitlines()[-1]
        takes_over = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=8)
        _cli(url, "programme", "publish", draft, "--effective-from", takes_over.isoformat())
        balances = [server.request("GET", "/v1/customers/e/balance", headers=bearer(shop))[1]["discount_percent"]
                    for _ in range(6)]
        assert datetime.now(timezone.utc) < takes_over
        assert balances == [0] * 6                               # every web process: still the first version
        time.sleep(max(0.0, takes_over.timestamp() + 1.0 - time.time()))
        balances = [server.request("GET", "/v1/customers/e/balance", headers=bearer(shop))[1]["discount_percent"]
                    for _ in range(6)]
        assert balances == [2] * 6                               # every web process: the new one, no restart
        _post(server, purchase(customer="e", order="after", amount=10_000, created=int(time.time()), event_id="e-2"))
        assert wait_until(lambda: state.customer(app, "e")["pending"] == 400, timeout=60)
        orders, _ = orders_of(app, "e")
        assert orders == {"before": (100, "default-2026.1"), "after": (200, "double")}
        listed = json.loads(_cli(url, "programme", "list", "--format", "json"))
        assert [(v["version"], v["status"]) for v in listed["versions"]] == [("double", "live"),
                                                                            ("default-2026.1", "retired")]
    finally:
        worker.stop()
        server.stop()
