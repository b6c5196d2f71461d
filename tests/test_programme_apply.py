"""When a version changes the tier ladder, customers move at their next purchase, refund or
review, or all at once with `loyalty programme apply`; backtests through the admin API, at
once or queued for the worker."""
import json
import threading
import time
from pathlib import Path

from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import TierReview
from loyalty.programmes import backtest_jobs
from tests import state
from tests.api import bearer, make_key
from tests.versions import publish
from tests.webhooks import deliver_shop, purchase

DEFAULT = (Path(__file__).resolve().parents[1] / "rules" / "default_programme.toml").read_text()
# Gold from 500.00 (not 1,000.00), platinum from 6,000.00 (not 5,000.00).
LADDER = DEFAULT.replace('version = "default-2026.1"', 'version = "ladder-2"').replace(
    'name = "gold"\nfrom = 100000', 'name = "gold"\nfrom = 50000').replace(
    'name = "platinum"\nfrom = 500000', 'name = "platinum"\nfrom = 600000')


def test_apply_moves_customers_up_at_once_and_keeps_a_tier_a_raised_threshold_no_longer_reaches(app, client,
                                                                                                runner):
    hour_ago = int(time.time()) - 3600
    assert deliver_shop(client, purchase(customer="up", order="u", amount=60_000, created=hour_ago)) == "processed"
    assert deliver_shop(client, purchase(customer="kept", order="k", amount=550_000, created=hour_ago)) \
        == "processed"
    assert state.customer(app, "kept")["tier"] == "platinum"
    publish(app, LADDER)
    assert state.customer(app, "up")["tier"] == "standard"          # not until their next step, or apply

    dry = runner.invoke(args=["programme", "apply", "--dry-run"])
    assert json.loads(dry.output)["moved"] == {"standard -> gold": 1}
    assert state.customer(app, "up")["tier"] == "standard"
    applied = runner.invoke(args=["programme", "apply"])
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.output) == {"customers": 2, "changed": 1, "moved": {"standard -> gold": 1},
                                          "dry_run": False, "version": "ladder-2"}
    assert state.customer(app, "up")["tier"] == "gold"
    assert state.customer(app, "kept")["tier"] == "platinum"         # lowered only by a review after the hold
    with app.app_context():
        history = [(row.customer_id, row.from_tier, row.to_tier) for row in db.session.scalars(select(TierReview))]
    assert history == [("up", "standard", "gold")]
    listed = json.loads(runner.invoke(args=["programme", "list", "--format", "json"]).output)
    assert listed["audit"][0]["action"] == "applied" and listed["audit"][0]["version"] == "ladder-2"
    again = json.loads(runner.invoke(args=["programme", "apply"]).output)
    assert again["changed"] == 0


def test_without_apply_a_customer_moves_at_their_next_purchase(app, client):
    hour_ago = int(time.time()) - 3600
    assert deliver_shop(client, purchase(customer="next", order="n1", amount=60_000, created=hour_ago)) \
        == "processed"
    publish(app, LADDER)
    time.sleep(1.05)
    assert deliver_shop(client, purchase(customer="next", order="n2", amount=1_000)) == "processed"
    assert state.customer(app, "next")["tier"] == "gold"


def test_apply_through_the_admin_api(app, client, runner):
    admin = make_key(runner, "admin", "ops")
    assert deliver_shop(client, purchase(customer="api", order="a", amount=60_000,
                                         created=int(time.time()) - 60)) == "processed"
    publish(app, LADDER)
    answer = client.post("/v1/admin/programmes/apply", headers=bearer(admin), json={})
    assert answer.status_code == 200 and answer.get_json()["moved"] == {"standard -> gold": 1}
    assert state.customer(app, "api")["tier"] == "gold"


def test_a_backtest_through_the_admin_api_at_once_or_queued_for_the_worker(app, client, runner, monkeypatch):
    admin = make_key(runner, "admin", "ops")
    assert deliver_shop(client, purchase(customer="b", order="b1", amount=60_000,
                                         created=int(time.time()) - 60)) == "processed"
    made = client.post("/v1/admin/programmes", headers=bearer(admin), json={"source": LADDER})
    assert made.status_code == 201
    at_once = client.post("/v1/admin/programmes/ladder-2/backtest", headers=bearer(admin), json={"days": 30})
    assert at_once.status_code == 200, at_once.get_json()
    report = at_once.get_json()["report"]
    assert report["draft"]["tiers"]["gold"] == 1 and report["live"]["tiers"]["gold"] == 0
    assert report["moved"] == {"up": 1, "down": 0}

    from loyalty.api import programmes
    monkeypatch.setattr(programmes, "INLINE_PURCHASES", 0)
    queued = client.post("/v1/admin/programmes/ladder-2/backtest", headers=bearer(admin), json={"days": 30})
    assert queued.status_code == 202 and queued.get_json()["status"] == "queued"
    job = queued.get_json()["id"]
    assert client.get(f"/v1/admin/programmes/backtests/{job}", headers=bearer(admin)).get_json()["status"] == "queued"
    backtest_jobs.run_backtests(app, threading.Event(), once=True)
    done = client.get(f"/v1/admin/programmes/backtests/{job}", headers=bearer(admin)).get_json()
    assert done["status"] == "done" and done["requested_by"].endswith("(ops)")
    assert done["report"]["draft"] == report["draft"] and done["report"]["live"] == report["live"]
    assert client.get("/v1/admin/programmes/backtests/999999", headers=bearer(admin)).status_code == 404
    bad = client.post("/v1/admin/programmes/ladder-2/backtest", headers=bearer(admin), json={"days": 0})
    assert bad.status_code == 422
