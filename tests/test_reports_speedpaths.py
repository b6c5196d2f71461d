"""The customers and tiers reports sum and count in the database; on small random histories,
on both backends and in a time zone whose clocks change at midnight, they answer exactly
what rules/customers.py and rules/tier_mix.py answer from each customer's own history (read
row by row here, as the reports once did)."""
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from loyalty.extensions import db
from loyalty.models import Customer, Order, TierReview, TimelineEvent
from loyalty.programme import current_programme
from loyalty.reports.command import report, snapshot
from loyalty.reports.customers import _measures, _month, _month_name
from rules import local_date
from rules.customers import Buyer, cohort_retention, retention
from rules.tier_mix import tier_mix
from tests.conftest import clear_programme_versions

AS_OF = date(2026, 6, 30)
START = datetime(2024, 12, 1, tzinfo=timezone.utc)
CUSTOMERS = [f"c-{n}" for n in range(6)]
# Days on the edges (a churn window's, the last year's, a month's) and hours about midnight, UTC and Santiago's.
EDGES = sorted({(AS_OF - timedelta(days=back) - START.date()).days for churn in (1, 30, 180, 400)
                for back in (churn - 1, churn, 364, 365)} | {212, 213, 577, 578})
moments = st.builds(lambda day, hour, minute: START + timedelta(days=day, hours=hour, minutes=minute),
                    st.integers(0, 600) | st.sampled_from(EDGES), st.sampled_from([0, 3, 4, 5, 12, 23]),
                    st.sampled_from([0, 59]))
orders = st.lists(st.tuples(st.sampled_from(CUSTOMERS), moments, st.integers(1, 5000), st.sampled_from([0, 1, 2])),
                  max_size=14)
changes = st.lists(st.tuples(st.sampled_from(CUSTOMERS), moments, st.sampled_from(["standard", "gold", "platinum",
                                                                                    "silver"])), max_size=8)


@pytest.fixture(params=["UTC", "America/Santiago"])            # Santiago: clocks change at midnight
def zoned_app(request, app, app_factory, database_url, tmp_path):
    if request.param == "UTC":
        return app
    default = Path(__file__).resolve().parents[1] / "rules" / "default_programme.toml"
    programme = tmp_path / "programme.toml"
    programme.write_text(default.read_text().replace('timezone = "UTC"', f'timezone = "{request.param}"'))
    clear_programme_versions(database_url)      # `app` stored the default; a version cannot change the zone
    return app_factory(database_url, LOYALTY_PROGRAMME=str(programme))


def store(app, created, bought, steps, reviews):
    with app.app_context():
        for table in (TierReview, TimelineEvent, Order, Customer):
            db.session.execute(delete(table))
        first_step = {}                 # what the write path keeps: the first purchase's time
        for c, at, _ in steps:
            first_step[c] = min(first_step.get(c, at), at)
        db.session.execute(insert(Customer), [{"id": c, "created_at": at, "updated_at": at, "tier": tier,
                                               "first_purchase_at": first_step.get(c)}
                                              for c, (at, tier) in created.items()])
        if bought:
            db.session.execute(insert(Order), [
                {"customer_id": c, "source": "shop", "order_key": f"o-{n}", "placed_at": at, "currency": "EUR",
                 "total": total, "refunded": [0, total // 2, total][refund], "lines": []}
                for n, (c, at, total, refund) in enumerate(bought)])
            order_id = db.session.execute(select(Order.id)).scalars().first()
            if steps:
                db.session.execute(insert(TimelineEvent), [
                    {"customer_id": c, "order_id": order_id, "kind": "purchase", "at": at, "amount": 0,
                     "standing_after": {"tier": tier, "lifetime_spend": 0}, "order_after": {}, "tier": tier}
                    for c, at, tier in steps])
        if reviews:
            db.session.execute(insert(TierReview), [{"customer_id": c, "at": at, "from_tier": "gold", "to_tier": tier}
                                                    for c, at, tier in reviews])
        db.session.commit()


def customers_one_by_one(session, programme, as_of, churn_days):
    """The customers report from each customer's orders, by rules/customers.py's per-buyer functions."""
    until = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=ZoneInfo(programme.timezone))
    year_ago = until - timedelta(days=365)
    placed = {}
    for customer, at, total, refunded in session.execute(
            select(Order.customer_id, Order.placed_at, Order.total, Order.refunded)):
        if refunded < total and at < until:
            placed.setdefault(customer, []).append((at, total - refunded))
    tiers = dict(session.execute(select(Customer.id, Customer.tier)).all())
    buyers = {c: Buyer(len(found), sum(s for _, s in found), local_date(programme, max(found)[0]),
                       sum(1 for at, _ in found if at >= year_ago)) for c, found in placed.items()}
    cohort_of = {c: _month(local_date(programme, min(found)[0])) for c, found in placed.items()}
    months = {c: [_month(local_date(programme, at)) for at, _ in found] for c, found in placed.items()}

    def measured(ids):
        return _measures(programme, retention([buyers[c] for c in ids], as_of, churn_days))
    cohorts = sorted(set(cohort_of.values()))
    return {"as_of": as_of.isoformat(), "churn_days": churn_days, "all": measured(buyers),
            "by_tier": {t.name: measured([c for c in buyers if tiers[c] == t.name]) for t in programme.tiers},
            "by_cohort": {_month_name(m): measured([c for c in buyers if cohort_of[c] == m]) for m in cohorts},
            "cohort_retention": [{"cohort": _month_name(m), "customers": sum(1 for c in buyers if cohort_of[c] == m),
                                  "months": [round(float(share), 4) for share in shares]}
                                 for m, shares in cohort_retention(months, cohort_of).items()]}


def tiers_one_by_one(session, programme, months):
    """The tier mix from every customer's whole history, by rules/tier_mix.py's per-customer function."""
    until = months[-1][2]
    history = {}
    for customer, at, tier in [*session.execute(select(TimelineEvent.customer_id, TimelineEvent.at,
                                                       TimelineEvent.standing_after["tier"].as_string())),  # the snapshot
                               *session.execute(select(TierReview.customer_id, TierReview.at, TierReview.to_tier))]:
        if at < until:
            history.setdefault(customer, []).append((at, tier))
    # A customer counts from its enrolment or its first purchase, whichever is first.
    enrolled = {c: min(at, first or at) for c, at, first in session.execute(
        select(Customer.id, Customer.created_at, Customer.first_purchase_at)) if min(at, first or at) < until}
    return tier_mix(programme, history, enrolled, months)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(CUSTOMERS), st.tuples(moments, st.sampled_from(["standard", "gold", "x"])),
                       min_size=len(CUSTOMERS), max_size=len(CUSTOMERS)),
       orders, st.sampled_from([1, 30, 180, 400]))
def test_the_customers_report_equals_the_measures_of_each_buyer(zoned_app, created, bought, churn_days):
    store(zoned_app, created, bought, [], [])
    with zoned_app.app_context():
        found = report("customers", end=AS_OF, churn_days=churn_days)
        session, programme = db.session, current_programme()
        with snapshot(session):
            assert found == customers_one_by_one(session, programme, AS_OF, churn_days)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(CUSTOMERS), st.tuples(moments, st.just("standard")),
                       min_size=len(CUSTOMERS), max_size=len(CUSTOMERS)),
       changes, changes, st.sampled_from([(date(2025, 7, 1), AS_OF), (date(2026, 3, 1), date(2026, 5, 10))]))
def test_the_tiers_report_equals_the_mix_of_each_customer(zoned_app, created, steps, reviews, span):
    store(zoned_app, created, [("c-0", START, 100, 0)], steps, reviews)
    with zoned_app.app_context():
        found = report("tiers", start=span[0], end=span[1])["months"]
        session, programme = db.session, current_programme()
        zone = ZoneInfo(programme.timezone)
        months = [(row["month"], datetime.combine(date.fromisoformat(row["month"] + "-01"), time(), tzinfo=zone),
                   datetime.combine(date.fromisoformat(row["end"]) + timedelta(days=1), time(), tzinfo=zone))
                  for row in found]
        with snapshot(session):
            assert [{k: row[k] for k in ("month", "tiers", "up", "down")} for row in found] == \
                tiers_one_by_one(session, programme, months)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(CUSTOMERS),
                          st.sampled_from([datetime(1969, 12, 31, 23, 59, tzinfo=timezone.utc),
                                           datetime(1970, 1, 1, 3, 0, tzinfo=timezone.utc),
                                           datetime(1958, 7, 14, 12, 0, tzinfo=timezone.utc)]) | moments,
                          st.integers(1, 5000), st.sampled_from([0, 1, 2])), min_size=1, max_size=8))
def test_the_customers_report_counts_orders_older_than_1970(zoned_app, bought):
    # PostgreSQL numbers the months from 1970's first, then again from the oldest order's if one is older.
    created = {c: (START, "gold" if c == "c-1" else "standard") for c in CUSTOMERS}
    store(zoned_app, created, bought, [], [])
    with zoned_app.app_context():
        found = report("customers", end=AS_OF, churn_days=180)
        session, programme = db.session, current_programme()
        with snapshot(session):
            assert found == customers_one_by_one(session, programme, AS_OF, 180)
