"""Simulate: a purchase evaluated under a version, with the trace of every rule; and a
property: simulate books what the applier books, over generated programmes and purchases."""
import copy
import itertools
import json
import time
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import Customer, LedgerEntry, Order
from loyalty.programmes import store
from tests.api import bearer, make_key
from tests.webhooks import deliver_shop, money, purchase

DEFAULT = tomllib.loads((Path(__file__).resolve().parents[1] / "rules" / "default_programme.toml").read_text())
_labels = itertools.count(1)


def simulate(client, admin, version, body):
    answer = client.post(f"/v1/admin/programmes/{version}/simulate", headers=bearer(admin), json=body)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def order(order_id, amount, lines=()):
    return {"id": order_id, "total": money(amount), "lines": [
        {"category": category, "amount": money(line_amount)} for category, line_amount in lines]}


def test_simulate_explains_every_rule_for_a_real_customer(app, client, runner):
    admin = make_key(runner, "admin")
    assert deliver_shop(client, purchase(customer="c-1", order="o-1", amount=90000, birthday="1990-05-17")) \
        == "processed"
    answer = simulate(client, admin, "default-2026.1", {
        "customer_id": "c-1", "purchase": order("o-2", 25000, [("gift_card", 5000), ("shoes", 20000)])})
    by_rule = {step["rule"]: step for step in answer["trace"]}
    assert answer["points"] == 200 and by_rule["base"]["points"] == 200
    assert by_rule["tier-gold"] == {"rule": "tier-gold", "kind": "bonus", "matched": False, "points": 0,
                                    "why": "tier is standard, rule needs gold"}
    assert by_rule["welcome"]["matched"] is False and "not the first purchase" in by_rule["welcome"]["why"]
    assert by_rule["gift-cards"]["matched"] is True
    assert answer["tier"] == {"before": "standard", "after": "gold", "changed": True}
    assert answer["discount"] == {"percent": 5, "percent_after": 7}
    assert answer["support"]["response_target_hours"] == 2
    with app.app_context():         # nothing written
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_simulate_with_a_standing_given_inline_and_refusals(app, client, runner):
    admin = make_key(runner, "admin")
    answer = simulate(client, admin, "default-2026.1", {
        "standing": {"tier": "gold", "qualifying_spend": 150000, "lifetime_spend": 150000},
        "purchase": order("o-1", 10000)})
    assert answer["points"] == 125 + 100 and answer["tier"]["before"] == "gold"
    assert {s["rule"]: s["matched"] for s in answer["trace"]}["welcome"] is True
    bad = client.post("/v1/admin/programmes/default-2026.1/simulate", headers=bearer(admin),
                      json={"purchase": {"id": "o", "total": money(100, "USD"), "lines": []}})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "currency_mismatch"
    unknown = client.post("/v1/admin/programmes/default-2026.1/simulate", headers=bearer(admin),
                          json={"customer_id": "nobody", "purchase": order("o", 100)})
    assert unknown.status_code == 404
    assert client.post("/v1/admin/programmes/default-2026.1/simulate", headers=bearer(admin),
                       json={"purchase": order("o", 100), "surprise": 1}).status_code == 422


def _generated_programme(draw):
    programme = copy.deepcopy(DEFAULT)
    programme["version"] = f"generated-{next(_labels)}-{time.time_ns()}"
    gold = draw(st.integers(10_000, 200_000))
    programme["tiers"][1]["from"] = gold
    programme["tiers"][2]["from"] = gold + draw(st.integers(1, 400_000))
    for bonus in programme["bonuses"]:
        bonus["percent"] = draw(st.integers(1, 200))
    programme["fixed_bonuses"][0]["points"] = draw(st.integers(1, 500))
    if draw(st.booleans()):
        programme["bonuses"].append({"id": "shoes-double", "percent": draw(st.integers(1, 100)),
                                     "when": {"categories": ["shoes"]}})
    programme["earning"]["points"] = draw(st.integers(1, 3))
    return programme


@st.composite
def scenarios(draw):
    programme = _generated_programme(draw)
    lines = draw(st.lists(st.tuples(st.sampled_from(["gift_card", "shoes", "books"]), st.integers(1, 50_000)),
                          max_size=3))
    total = sum(amount for _, amount in lines) + draw(st.integers(0 if lines else 1, 150_000))
    earlier = draw(st.lists(st.integers(1, 250_000), max_size=2))
    birthday = draw(st.sampled_from([None, "1990-01-15", "1985-06-30", "2000-12-01"]))
    return programme, lines, total, earlier, birthday


_customers = itertools.count(1)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(scenario=scenarios())
def test_simulate_books_what_the_applier_books(app, client, runner, scenario):
    programme, lines, total, earlier, birthday = scenario
    admin = make_key(runner, "admin")
    run = next(_customers)
    customer = f"sim-{run}-{time.time_ns()}"
    with app.app_context():
        now = datetime.now(timezone.utc)
        row = store.draft(db.session, json.dumps(programme), "json", "test", now)
        # In force from the start of the previous second (within publishing's minute of "now"),
        # so the purchase below, dated this whole second, falls under it without waiting;
        # a microsecond per example keeps each example's moment its own.
        takes_over = now.replace(microsecond=0) - timedelta(seconds=1) + timedelta(microseconds=run)
        store.publish(db.session, row.id, "test", now, takes_over)
        db.session.commit()
    start = int(time.time()) - 3600
    profile = {"birthday": birthday} if birthday else {}
    for index, amount in enumerate(earlier):
        assert deliver_shop(client, purchase(customer=customer, order=f"{customer}-e{index}", amount=amount,
                                             created=start + index, **profile)) == "processed"
    at = datetime.fromtimestamp(start + 3600, timezone.utc)       # under the new version
    answer = simulate(client, admin, programme["version"], {
        "customer_id": customer, "purchase": order(f"{customer}-x", total, lines), "at": at.isoformat()}) \
        if earlier else simulate(client, admin, programme["version"], {
            "standing": {"birthday": birthday} if birthday else {}, "purchase": order(f"{customer}-x", total, lines),
            "at": at.isoformat()})
    event = purchase(customer=customer, order=f"{customer}-x", amount=total, created=start + 3600, **profile)
    event["data"]["order"]["lines"] = order("x", total, lines)["lines"]
    assert deliver_shop(client, event) == "processed"
    with app.app_context():
        booked = db.session.scalar(select(func.sum(LedgerEntry.points)).join(Order, LedgerEntry.order_id == Order.id)
                                   .where(Order.order_key == f"{customer}-x", LedgerEntry.kind.in_(("earn", "welcome"))))
        tier = db.session.scalar(select(Customer.tier).where(Customer.id == customer))
        versions = set(db.session.scalars(select(LedgerEntry.programme_version).join(Order, LedgerEntry.order_id == Order.id)
                                          .where(Order.order_key == f"{customer}-x")))
    assert (booked or 0) == answer["points"]
    assert tier == answer["tier"]["after"]
    assert versions <= {programme["version"]}
    assert sum(step["points"] for step in answer["trace"]) == answer["points"]


def test_a_past_moment_explains_a_past_purchase_with_the_standing_then(app, client, runner):
    admin = make_key(runner, "admin")
    now = int(time.time())
    assert deliver_shop(client, purchase(customer="p", order="p-1", amount=20_000, created=now - 3 * 86400)) \
        == "processed"
    assert deliver_shop(client, purchase(customer="p", order="p-2", amount=120_000, created=now - 2 * 86400)) \
        == "processed"
    assert deliver_shop(client, purchase(customer="p", order="p-3", amount=10_000, created=now - 86400)) \
        == "processed"

    def at(seconds_ago):
        return datetime.fromtimestamp(now - seconds_ago, timezone.utc).isoformat()
    # p-2 explained at its own time: standard then (it made the customer gold), 200.00 spent before it.
    explained = simulate(client, admin, "default-2026.1", {"customer_id": "p", "at": at(2 * 86400),
                                                           "purchase": order("p-2", 120_000)})
    assert explained["tier"] == {"before": "standard", "after": "gold", "changed": True}
    assert explained["spend"]["qualifying_before"]["amount"] == 20_000
    assert explained["discount"]["percent"] == 3
    with app.app_context():
        booked = db.session.scalar(select(Order.points_earned + Order.fixed_points).where(Order.order_key == "p-2"))
    assert explained["points"] == booked == 1200
    # p-3 at its time: gold, so the gold bonus applies; and the first purchase's welcome is not due.
    later = simulate(client, admin, "default-2026.1", {"customer_id": "p", "at": at(86400),
                                                       "purchase": order("p-3", 10_000)})
    assert later["tier"]["before"] == "gold" and later["points"] == 125
    # Before any purchase: a new customer, the welcome bonus due.
    first = simulate(client, admin, "default-2026.1", {"customer_id": "p", "at": at(4 * 86400),
                                                       "purchase": order("p-0", 10_000)})
    assert first["tier"]["before"] == "standard" and first["points"] == 100 + 100
