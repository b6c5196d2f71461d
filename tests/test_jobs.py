"""`loyalty jobs run`: release, expiry and tier review, at their boundary days, idempotent."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from tests import state
from tests.api import bearer, make_key
from tests.webhooks import deliver_shop, purchase

DAY = timedelta(days=1)
BOUGHT = (datetime.now(timezone.utc) - timedelta(days=40)).replace(hour=12, minute=0, second=0, microsecond=0)


def jobs(runner, now, *extra):
    result = runner.invoke(args=["jobs", "run", "--now", now.isoformat(), "--yes", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])["jobs"]


def buy(client, order, amount, at=BOUGHT, customer="c-42"):
    assert deliver_shop(client, purchase(customer=customer, order=order, amount=amount,
                                         created=int(at.timestamp()))) == "processed"


@pytest.mark.parametrize("days, released", [(13, False), (14, True), (15, True)])
def test_release_on_the_14th_day(app, client, runner, days, released):
    buy(client, "o-1", 10_000)                                   # 100 + 100 welcome, pending
    counts = jobs(runner, BOUGHT + days * DAY)
    assert counts["release"] == {"orders": int(released), "points": 200 * released}
    expected = {"pending": 0, "available": 200} if released else {"pending": 200, "available": 0}
    assert {k: state.customer(app, "c-42")[k] for k in expected} == expected
    assert state.ledger_sum(app, "c-42") == expected


def test_every_job_is_idempotent(app, client, runner):
    buy(client, "o-1", 100_000)
    later = BOUGHT + 800 * DAY
    jobs(runner, later)
    entries = state.entries(app, "c-42")
    customer = state.customer(app, "c-42")
    again = jobs(runner, later)
    assert again["release"]["orders"] == 0 and again["expiry"]["points"] == 0 and again["review"]["changed"] == 0
    assert state.entries(app, "c-42") == entries and state.customer(app, "c-42") == customer
    assert runner.invoke(args=["reconcile"]).exit_code == 0


def test_dry_run_reports_and_changes_nothing(app, client, runner):
    buy(client, "o-1", 10_000)
    counts = jobs(runner, BOUGHT + 15 * DAY, "--dry-run")
    assert counts["release"] == {"orders": 1, "points": 200}
    assert state.customer(app, "c-42")["pending"] == 200
    assert [kind for kind, _, _ in state.entries(app, "c-42")] == ["earn", "welcome"]


@pytest.mark.parametrize("days, expired", [(364, 0), (365, 200), (366, 200)])
def test_expiry_365_days_after_release(app, client, runner, days, expired):
    buy(client, "o-1", 10_000)
    released_on = BOUGHT + 14 * DAY
    jobs(runner, released_on)
    counts = jobs(runner, released_on + days * DAY)
    assert counts["expiry"]["points"] == expired
    assert state.customer(app, "c-42")["available"] == 200 - expired
    assert state.ledger_sum(app, "c-42")["available"] == 200 - expired


def test_expiry_takes_what_is_left_of_the_oldest_lots_first(app, client, runner):
    shop = bearer(make_key(runner, "shop"))
    buy(client, "old", 100_000, BOUGHT)                          # 1000 + 100 welcome, lot A
    buy(client, "new", 50_000, BOUGHT + 5 * DAY)                 # 625 at gold, lot B (5 days later)
    jobs(runner, BOUGHT + 20 * DAY)
    assert state.customer(app, "c-42")["available"] == 1_725
    balance = client.get("/v1/customers/c-42/balance", headers=shop).get_json()["points"]
    a_on, b_on = [(BOUGHT + d * DAY).date() + timedelta(days=365) for d in (14, 19)]
    assert balance["expiring"] == [{"points": 1_100, "on": a_on.isoformat()}, {"points": 625, "on": b_on.isoformat()}]
    spent = client.post("/v1/customers/c-42/redemptions", json={"points": 800, "order_id": "x"},
                        headers={**shop, "Idempotency-Key": "k"})
    assert spent.status_code == 201                             # uses lot A first: 300 of it left
    balance = client.get("/v1/customers/c-42/balance", headers=shop).get_json()["points"]
    assert balance["expiring"] == [{"points": 300, "on": a_on.isoformat()}, {"points": 625, "on": b_on.isoformat()}]
    first = jobs(runner, datetime.combine(a_on, datetime.min.time(), timezone.utc) + timedelta(hours=1))
    assert first["expiry"] == {"customers": 1, "points": 300}
    second = jobs(runner, datetime.combine(b_on, datetime.min.time(), timezone.utc) + timedelta(hours=1))
    assert second["expiry"] == {"customers": 1, "points": 625}
    assert state.customer(app, "c-42")["available"] == 0
    assert runner.invoke(args=["reconcile"]).exit_code == 0


def test_goodwill_expires_the_same_way(app, client, runner):
    support = bearer(make_key(runner, "support"))
    client.put("/v1/customers/c-42", json={}, headers=bearer(make_key(runner, "shop")))
    client.post("/v1/support/customers/c-42/adjustments", json={"points": 300, "reason": "sorry"}, headers=support)
    granted_on = datetime.now(timezone.utc)
    assert jobs(runner, granted_on + 364 * DAY)["expiry"]["points"] == 0
    assert jobs(runner, granted_on + 366 * DAY)["expiry"]["points"] == 300


def test_no_expiry_while_the_balance_is_negative(app, client, runner):
    from tests.webhooks import refund
    shop = bearer(make_key(runner, "shop"))
    buy(client, "o-1", 100_000)
    jobs(runner, BOUGHT + 15 * DAY)
    client.post("/v1/customers/c-42/redemptions", json={"points": 1_100, "order_id": "x"},
                headers={**shop, "Idempotency-Key": "k"})
    deliver_shop(client, refund(order="o-1", amount=100_000))
    assert state.customer(app, "c-42")["available"] == -1_100
    assert jobs(runner, BOUGHT + 800 * DAY)["expiry"]["points"] == 0
    assert client.get("/v1/customers/c-42/balance", headers=shop).get_json()["points"]["expiring"] == []


def test_tier_review_lowers_only_after_the_hold_and_to_what_spend_earns(app, client, runner):
    buy(client, "o-1", 100_000)                                  # gold from BOUGHT
    assert jobs(runner, BOUGHT + 364 * DAY)["review"]["changed"] == 0
    assert state.customer(app, "c-42")["tier"] == "gold"
    assert jobs(runner, BOUGHT + 366 * DAY)["review"] == {"reviewed": 1, "changed": 1}
    assert state.customer(app, "c-42")["tier"] == "standard"


def test_review_keeps_a_tier_that_spend_still_earns(app, client, runner):
    buy(client, "o-1", 100_000, BOUGHT)
    buy(client, "o-2", 100_000, BOUGHT + 30 * DAY)
    jobs(runner, BOUGHT + 370 * DAY)                             # held a year; o-2 still in the window
    assert state.customer(app, "c-42")["tier"] == "gold"
    jobs(runner, BOUGHT + 400 * DAY)                             # o-2 aged out too
    assert state.customer(app, "c-42")["tier"] == "standard"


def test_a_late_purchase_after_release_keeps_released_points_available(app, client, runner):
    buy(client, "a", 10_000, BOUGHT)                             # 100 + welcome
    jobs(runner, BOUGHT + 15 * DAY)
    buy(client, "b", 10_000, BOUGHT - 2 * DAY)                   # arrives late: takes the welcome
    assert state.order(app, "a")["pending"] == 0
    customer = state.customer(app, "c-42")
    assert (customer["pending"], customer["available"]) == (200, 100)
    assert state.ledger_sum(app, "c-42") == {"pending": 200, "available": 100}


def test_now_without_a_zone_is_the_programmes_and_nonsense_is_refused(runner, app):
    result = runner.invoke(args=["jobs", "run", "--now", "2026-01-01T06:00:00", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["now"] == "2026-01-01T06:00:00+00:00"     # UTC by default
    assert runner.invoke(args=["jobs", "run", "--now", "soon"]).exit_code == 2


def test_a_crash_in_the_middle_then_a_rerun_releases_everything_once(app, client, runner, monkeypatch):
    from loyalty.jobs import release
    for i in range(3):
        buy(client, f"o-{i}", 10_000, customer=f"c-{i}")
    real, calls = release.apply, []

    def crash_on_the_second_range(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real(*args)

    monkeypatch.setattr(release, "apply", crash_on_the_second_range)
    crashed = runner.invoke(args=["jobs", "run", "--now", (BOUGHT + 15 * DAY).isoformat(), "--yes", "--batch-size", "1",
                                  "--workers", "1"])
    assert crashed.exit_code != 0
    assert sum(state.customer(app, f"c-{i}")["available"] for i in range(3)) == 200       # one range committed
    monkeypatch.setattr(release, "apply", real)
    assert jobs(runner, BOUGHT + 15 * DAY, "--batch-size", "1")["release"] == {"orders": 2, "points": 400}
    for i in range(3):
        assert state.ledger_sum(app, f"c-{i}") == {"pending": 0, "available": 200}
    assert runner.invoke(args=["reconcile"]).exit_code == 0


def test_one_run_at_a_time_on_postgresql(postgres_server, migrated_databases, app_factory):
    """SQLite serialises writers by itself; on PostgreSQL an advisory lock keeps runs apart."""
    from sqlalchemy import func, select

    from loyalty.extensions import db
    from loyalty.jobs import RUN_LOCK
    app = app_factory(migrated_databases("postgresql", lambda: postgres_server))
    runner = app.test_cli_runner()
    with app.app_context():
        with db.engine.connect() as holder:
            holder.execute(select(func.pg_advisory_lock(RUN_LOCK)))
            result = runner.invoke(args=["jobs", "run"])
            holder.execute(select(func.pg_advisory_unlock(RUN_LOCK)))
    assert result.exit_code != 0 and "in progress" in result.output
