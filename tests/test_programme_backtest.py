"""Backtest: stored purchases and refunds replayed in memory under a version and under the
live one. A known change gives the hand-computed difference; the live version against
itself gives none, and its side equals what the ledger booked."""
import csv
import itertools
import json
import time
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import LedgerEntry, Order
from tests.webhooks import deliver_shop, post_shop, apply_queued, purchase, refund

DEFAULT = (Path(__file__).resolve().parents[1] / "rules" / "default_programme.toml").read_text()
GOLD_50 = DEFAULT.replace('version = "default-2026.1"', 'version = "gold-50"').replace(
    'id = "tier-gold"\npercent = 25', 'id = "tier-gold"\npercent = 50')
DAY = 86400


def backtest(runner, version, *options):
    result = runner.invoke(args=["programme", "backtest", version, "--format", "json", *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_gold_bonus_from_25_to_50_percent_costs_what_hand_arithmetic_says(app, client, runner, tmp_path):
    now = int(time.time())
    assert deliver_shop(client, purchase(customer="a", order="a-1", amount=120000, created=now - 20 * DAY)) \
        == "processed"
    assert deliver_shop(client, purchase(customer="a", order="a-2", amount=20000, created=now - 10 * DAY)) \
        == "processed"
    assert deliver_shop(client, purchase(customer="b", order="b-1", amount=10000, created=now - 5 * DAY)) \
        == "processed"
    assert deliver_shop(client, refund(order="b-1", refund_id="rb", amount=5000, created=now - 4 * DAY)) \
        == "processed"
    path = tmp_path / "gold50.toml"
    path.write_text(GOLD_50)
    assert runner.invoke(args=["programme", "draft", str(path)]).exit_code == 0

    with app.app_context():
        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    out = tmp_path / "customers.csv"
    report = backtest(runner, "gold-50", "--days", "365", "--out", str(out))
    # a: 1,200.00 at standard (1,200 + welcome 100), then gold: 200.00 earns 200 + 25 % = 250 (live)
    # or 200 + 50 % = 300 (draft). b: 100 + welcome 100, a refund of half takes back 50.
    assert report["live"]["points_issued"] == 1200 + 100 + 250 + 100 + 100 - 50
    assert report["draft"]["points_issued"] == 1200 + 100 + 300 + 100 + 100 - 50
    assert report["draft"]["points_value"] == {"amount": 1750, "currency": "EUR"}    # 100 points = 1.00
    # a's second purchase: lifetime spend 1,200.00 gives 7 %, worked back from 200.00 paid.
    assert report["live"]["discount_given"] == report["draft"]["discount_given"] == \
        {"amount": 20000 * 7 // 93, "currency": "EUR"}
    assert report["live"]["tiers"] == report["draft"]["tiers"] == {"standard": 1, "gold": 1, "platinum": 0}
    assert report["purchases"] == 3 and report["days"] == 365
    assert report["moved"] == {"up": 0, "down": 0}
    assert report["most_affected"][0]["customer_id"] == "a"
    assert report["most_affected"][0]["points_difference"] == 50
    with out.open() as handle:
        rows = {row["customer_id"]: row for row in csv.DictReader(handle)}
    assert rows["a"]["points_live"] == "1550" and rows["a"]["points_draft"] == "1600"
    assert rows["b"]["points_difference"] == "0"
    with app.app_context():             # nothing written
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries == 6

    apart = backtest(runner, "gold-50", "--days", "365", "--processes", "2")   # slices side by side (PostgreSQL)
    assert {key: apart[key] for key in ("draft", "live", "moved", "purchases", "customers")} == \
        {key: report[key] for key in ("draft", "live", "moved", "purchases", "customers")}
    table = runner.invoke(args=["programme", "backtest", "gold-50"])
    assert "points issued" in table.output and "1700" in table.output and "a +50" in table.output


def test_a_lower_gold_threshold_moves_customers_up(app, client, runner, tmp_path):
    now = int(time.time())
    assert deliver_shop(client, purchase(customer="c", order="c-1", amount=60000, created=now - DAY)) == "processed"
    path = tmp_path / "gold500.toml"
    path.write_text(DEFAULT.replace('version = "default-2026.1"', 'version = "gold-500"').replace(
        'name = "gold"\nfrom = 100000', 'name = "gold"\nfrom = 50000'))
    assert runner.invoke(args=["programme", "draft", str(path)]).exit_code == 0
    report = backtest(runner, "gold-500", "--days", "30")
    assert report["moved"] == {"up": 1, "down": 0}
    assert report["draft"]["tiers"]["gold"] == 1 and report["live"]["tiers"]["gold"] == 0


_runs = itertools.count(1)


@st.composite
def histories(draw):
    """Purchases over 60 days (the backtest covers the last 30), refunds of the recent ones,
    delivered in any order."""
    customers = draw(st.integers(1, 3))
    purchases = draw(st.lists(st.tuples(st.integers(0, customers - 1), st.integers(100, 400_000),
                                        st.integers(1, 59 * 24)), min_size=1, max_size=8))
    refunds = []
    for index, (_, amount, hours_ago) in enumerate(purchases):
        if hours_ago < 29 * 24 and draw(st.booleans()):
            refunds.append((index, draw(st.integers(1, amount)), draw(st.integers(0, hours_ago - 1))))
    return purchases, refunds, draw(st.randoms(use_true_random=False))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(history=histories())
def test_live_against_itself_shows_no_difference_and_matches_the_ledger(app, client, runner, history):
    purchases, refunds, shuffle = history
    run, now = next(_runs), int(time.time())
    events = [purchase(customer=f"h{run}-{who}", order=f"h{run}-o{index}", amount=amount,
                       created=now - hours * 3600, event_id=f"h{run}-p{index}")
              for index, (who, amount, hours) in enumerate(purchases)]
    events += [refund(order=f"h{run}-o{index}", refund_id=f"h{run}-r{index}", amount=amount,
                      created=now - hours * 3600, event_id=f"h{run}-r{index}")
               for index, amount, hours in refunds]
    shuffle.shuffle(events)
    for event in events:
        assert post_shop(client, event).status_code == 202
        apply_queued(app)
    report = backtest(runner, "default-2026.1", "--days", "30")
    assert report["draft"] == report["live"]
    assert report["moved"] == {"up": 0, "down": 0}
    assert all(row["points_difference"] == 0 for row in report["most_affected"])
    since = datetime.fromisoformat(report["from"])
    with app.app_context():             # every customer's so far: the examples share the database
        booked = db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.points), 0)).join(Order, LedgerEntry.order_id == Order.id)
            .where(Order.placed_at >= since))
    assert report["live"]["points_issued"] == booked
