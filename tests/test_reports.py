"""Reports from the ledger: the accounting reconciles to the point with the ledger and with
every balance, on generated histories; the liability on a hand-made one; the command line
and the admin API."""
import csv
import io
import json
from datetime import date, datetime, time, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from loyalty.extensions import db
from loyalty.models import Customer, LedgerEntry
from loyalty.programme import current_programme
from loyalty.reports.command import report
from rules import local_date
from rules.redemption import points_value
from tests.api import bearer, make_key
from tests.webhooks import deliver_shop, purchase, refund

KINDS = [("earn", "pending", 1), ("welcome", "pending", 1), ("correction", "pending", 0),
         ("correction", "available", 0), ("clawback", "pending", -1), ("clawback", "available", -1),
         ("redemption", "available", -1), ("expiry", "available", -1), ("adjustment", "available", 1),
         ("birthday", "available", 1)]
NOW = datetime.now(timezone.utc)

entries = st.lists(st.tuples(st.sampled_from(["c-0", "c-1", "c-2"]), st.sampled_from(KINDS + ["release"]),
                             st.integers(1, 5000), st.integers(0, 120 * 24)), max_size=40)


def store(app, history):
    """The history as ledger rows booked at their hours ago, and cached balances that are
    their sums (as the write paths keep them). Answers the rows."""
    rows = []
    for customer, kind, points, hours_ago in history:
        at = NOW - timedelta(hours=hours_ago)
        if kind == "release":                           # a pair: out of pending, into available
            rows += [(customer, "release", -points, "pending", at), (customer, "release", points, "available", at)]
            continue
        name, status, sign = kind
        rows.append((customer, name, points * (sign or 1) * (-1 if sign == 0 and points % 2 else 1), status, at))
    with app.app_context():
        db.session.execute(delete(LedgerEntry))
        db.session.execute(delete(Customer))
        balances = {}
        for customer, _, points, status, _ in rows:
            balances.setdefault(customer, {"pending": 0, "available": 0})[status] += points
        for customer, held in balances.items():
            db.session.add(Customer(id=customer, points_pending=held["pending"], points_available=held["available"]))
        db.session.flush()
        if rows:
            db.session.execute(insert(LedgerEntry), [
                {"customer_id": c, "kind": k, "points": p, "status": s, "at": at, "created_at": at, "reason": "",
                 "rules": []} for c, k, p, s, at in rows])
        db.session.commit()
        db.session.remove()
    return rows


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(history=entries, days_back=st.integers(0, 130), by=st.sampled_from(["day", "month"]))
def test_the_accounting_reconciles_with_the_ledger_and_every_balance(app, history, days_back, by):
    rows = store(app, history)
    with app.app_context():
        programme = current_programme()
        today = local_date(programme, NOW)
        result = report("accounting", today - timedelta(days=days_back), today, by)
        db.session.remove()
    periods = result["periods"]
    day_of = {id(row): local_date(programme, row[4]) for row in rows}
    first = date.fromisoformat(periods[0]["start"])
    assert periods[0]["opening"] == sum(row[2] for row in rows if day_of[id(row)] < first)
    for period, following in zip(periods, periods[1:]):
        assert period["closing"] == following["opening"]
    for period in periods:
        start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
        inside = [row for row in rows if start <= day_of[id(row)] <= end]
        assert period["closing"] - period["opening"] == sum(row[2] for row in inside)
        assert period["earned"] == sum(row[2] for row in inside if row[1] in ("earn", "welcome", "birthday"))
        assert period["redeemed"] == -sum(row[2] for row in inside if row[1] == "redemption")
        assert period["clawed_back"] == -sum(row[2] for row in inside if row[1] == "clawback")
        assert period["released"] == sum(row[2] for row in inside if row[1] == "release" and row[3] == "available")
    assert periods[-1]["closing"] == sum(row[2] for row in rows)      # = every customer's available + pending
    assert periods[-1]["end"] == today.isoformat()


def test_the_accounting_of_real_purchases_goodwill_and_redemptions(app, client, runner):
    support, shop = make_key(runner, "support"), make_key(runner, "shop")
    deliver_shop(client, purchase(customer="c-1", order="o-1", amount=12999))     # 129 + 100 welcome
    assert client.post("/v1/support/customers/c-1/adjustments", json={"points": 900, "reason": "sorry"},
                       headers=bearer(support)).status_code == 201
    assert client.post("/v1/customers/c-1/redemptions", json={"points": 500, "order_id": "o-2"},
                       headers={**bearer(shop), "Idempotency-Key": "k"}).status_code == 201
    result = runner.invoke(args=["report", "accounting", "--format", "json"])
    assert result.exit_code == 0, result.output
    [period] = json.loads(result.output)["periods"]
    assert (period["opening"], period["earned"], period["adjusted"], period["redeemed"]) == (0, 229, 900, 500)
    assert period["closing"] == 229 + 400
    table = runner.invoke(args=["report", "accounting"]).output.splitlines()
    assert table[0].split()[:3] == ["start", "end", "opening"] and table[1].split()[-1] == "629"
    admin = make_key(runner, "admin")
    assert client.get("/v1/admin/reports/accounting", headers=bearer(shop)).status_code == 403
    served = client.get("/v1/admin/reports/accounting?period=day", headers=bearer(admin)).get_json()
    assert served["period"] == "day" and served["periods"][-1]["closing"] == 629
    as_csv = client.get("/v1/admin/reports/accounting?format=csv", headers=bearer(admin))
    assert as_csv.mimetype == "text/csv"
    assert list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))[0]["closing"] == "629"
    bad = client.get("/v1/admin/reports/accounting?from=2026-02-30", headers=bearer(admin))
    assert bad.status_code == 422
    backwards = client.get("/v1/admin/reports/accounting?from=2026-05-01&to=2026-04-01", headers=bearer(admin))
    assert backwards.status_code == 422 and backwards.get_json()["error"]["code"] == "invalid_request"


def test_the_liability_values_what_is_owed_with_breakage_from_history(app, client, runner):
    store(app, [("c-1", ("adjustment", "available", 1), 4000, 48), ("c-1", ("redemption", "available", -1), 1500, 24),
                ("c-1", ("expiry", "available", -1), 500, 1), ("c-2", ("earn", "pending", 1), 700, 2)])
    with app.app_context():
        programme = current_programme()
    result = runner.invoke(args=["report", "liability", "--format", "json"])
    assert result.exit_code == 0, result.output
    owed = json.loads(result.output)
    value = points_value(programme, 2000 + 700)
    assert (owed["available"], owed["pending"]) == (2000, 700)
    assert owed["value"] == {"amount": value, "currency": programme.currency}
    assert owed["expected_breakage"] == 0.25                               # 500 expired of 2,000 settled
    assert owed["expected_cost"] == {"amount": value - value // 4, "currency": programme.currency}
    rows = runner.invoke(args=["report", "liability", "--format", "csv"]).output
    assert list(csv.DictReader(io.StringIO(rows)))[0]["value_amount"] == str(value)


def test_customer_measures_on_a_small_history_equal_the_ones_worked_out_by_hand(app, client, runner):
    today = NOW.date()

    def at(days_ago):
        return int(datetime.combine(today - timedelta(days=days_ago), time(12), tzinfo=timezone.utc).timestamp())
    for customer, order, amount, days_ago in (("c-1", "o-1", 10_000, 400), ("c-1", "o-2", 20_000, 30),
                                              ("c-2", "o-3", 5_000, 300), ("c-3", "o-4", 15_000, 10),
                                              ("c-3", "o-5", 3_000, 5), ("c-4", "o-6", 8_000, 200)):
        assert deliver_shop(client, purchase(customer=customer, order=order, amount=amount,
                                             created=at(days_ago))) == "processed"
    assert deliver_shop(client, refund(order="o-4", refund_id="r-1", amount=15_000, created=at(9))) == "processed"
    assert deliver_shop(client, refund(order="o-6", refund_id="r-2", amount=2_000, created=at(199))) == "processed"
    result = runner.invoke(args=["report", "customers", "--format", "json", "--to", today.isoformat()])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    # By hand: buyers c-1 (2 orders, 30,000, last 30 days ago), c-2 (5,000, 300 days ago),
    # c-3 (its refunded order does not count: 3,000, 5 days ago), c-4 (8,000 less 2,000, 200
    # days ago). Active (under 180 days): c-1, c-3. Orders 5, net spend 44,000: 8,800 an
    # order. Each bought once in the last year: 1 a year. Churn 2 of 4: 2 years retained.
    assert found["all"] == {"customers": 4, "active": 2, "churned": 2, "churn_rate": 0.5,
                            "repeat_purchase_rate": 0.25, "average_order_value": {"amount": 8800, "currency": "EUR"},
                            "purchases_a_year": 1.0, "years_retained": 2.0,
                            "lifetime_value": {"amount": 17_600, "currency": "EUR"}}
    assert found["by_tier"]["standard"] == found["all"] and found["by_tier"]["gold"]["customers"] == 0
    first_month = f"{(today - timedelta(days=400)):%Y-%m}"
    [oldest] = [row for row in found["cohort_retention"] if row["cohort"] == first_month]
    assert oldest["customers"] == 1 and oldest["months"][0] == 1.0 and oldest["months"][-1] == 1.0
    assert sum(oldest["months"]) == 2.0
    assert found["by_cohort"][first_month]["lifetime_value"] == {"amount": 15_000 * 1 * 10, "currency": "EUR"}
    shorter = json.loads(runner.invoke(args=["report", "customers", "--format", "json", "--churn-days", "400"]).output)
    assert shorter["all"]["churned"] == 0 and shorter["all"]["years_retained"] == 10.0
    table = runner.invoke(args=["report", "customers"]).output.splitlines()
    assert table[0].split()[0] == "group" and table[1].split()[0] == "all"


def test_the_tier_mix_follows_purchases_and_reviews(app, client, runner):
    today = NOW.date()

    def day(days_ago):
        return datetime.combine(today - timedelta(days=days_ago), time(12), tzinfo=timezone.utc)
    assert deliver_shop(client, purchase(customer="c-1", order="o-1", amount=150_000,
                                         created=int(day(400).timestamp()))) == "processed"        # gold
    assert deliver_shop(client, purchase(customer="c-2", order="o-2", amount=10_000,
                                         created=int(day(100).timestamp()))) == "processed"
    result = runner.invoke(args=["jobs", "run", "--now", day(30).isoformat(), "--only", "review"])
    assert result.exit_code == 0, result.output                              # held 370 days, spend aged out
    found = json.loads(runner.invoke(args=["report", "tiers", "--format", "json", "--from",
                                           f"{day(400):%Y-%m}-01"]).output)["months"]
    by_month = {row["month"]: row for row in found}
    bought = by_month[f"{day(400):%Y-%m}"]
    assert bought["tiers"]["gold"] == 1 and bought["up"] == 1
    lowered = by_month[f"{day(30):%Y-%m}"]
    assert lowered["down"] == 1
    assert found[-1]["tiers"] == {"standard": 2, "gold": 0, "platinum": 0} and found[-1]["end"] == today.isoformat()
    assert sum(row["up"] for row in found) == 1 and sum(row["down"] for row in found) == 1
    csv_rows = list(csv.DictReader(io.StringIO(runner.invoke(args=["report", "tiers", "--format", "csv"]).output)))
    assert csv_rows[-1]["tier_standard"] == "2"
