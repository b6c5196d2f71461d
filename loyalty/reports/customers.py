"""Customers: active, churn, repeat purchase rate, average order value, purchases a year,
lifetime value, for everyone, by current tier and by cohort (month of first purchase), and
the cohorts' retention month by month. rules/customers.py decides every measure; this reads
each customer's orders (fully refunded ones do not count), summed by the database."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, case, cast, func, select

from loyalty.models import Customer, Order
from loyalty.models.types import utcnow
from loyalty.services.balances import money
from rules import local_date
from rules.customers import Buyer, cohort_retention, retention

_COUNTED = Order.refunded < Order.total


def _month(day):
    return day.year * 12 + day.month - 1


def _month_name(number):
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def _measures(programme, found):
    return {"customers": found.customers, "active": found.active, "churned": found.churned,
            "churn_rate": round(float(found.churn_rate), 4),
            "repeat_purchase_rate": round(float(found.repeat_purchase_rate), 4),
            "average_order_value": money(programme, found.average_order_value),
            "purchases_a_year": round(float(found.purchases_a_year), 2),
            "years_retained": round(float(found.years_retained), 2),
            "lifetime_value": money(programme, found.lifetime_value)}


def customers(session, programme, as_of=None, churn_days=180):
    as_of = as_of or local_date(programme, utcnow())
    until = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=ZoneInfo(programme.timezone))
    year_ago = until - timedelta(days=365)
    rows = session.execute(
        select(Order.customer_id, Customer.tier, func.count(), cast(func.sum(Order.total - Order.refunded), BigInteger),
               func.min(Order.placed_at), func.max(Order.placed_at),
               cast(func.sum(case((Order.placed_at >= year_ago, 1), else_=0)), Integer))
        .join(Customer, Customer.id == Order.customer_id)
        .where(_COUNTED, Order.placed_at < until).group_by(Order.customer_id, Customer.tier)).all()
    buyers, tiers, cohort_of = {}, {}, {}
    for customer_id, tier, orders, spend, first, last, last_year in rows:
        buyers[customer_id] = Buyer(orders, int(spend), local_date(programme, last), last_year)
        tiers[customer_id], cohort_of[customer_id] = tier, _month(local_date(programme, first))
    months = {}
    for customer_id, placed_at in session.execute(select(Order.customer_id, Order.placed_at)
                                                  .where(_COUNTED, Order.placed_at < until)):
        months.setdefault(customer_id, []).append(_month(local_date(programme, placed_at)))

    def measured(ids):
        return _measures(programme, retention([buyers[i] for i in ids], as_of, churn_days))

    by_tier, by_cohort = {}, {}
    for customer_id in buyers:
        by_tier.setdefault(tiers[customer_id], []).append(customer_id)
        by_cohort.setdefault(cohort_of[customer_id], []).append(customer_id)
    return {"as_of": as_of.isoformat(), "churn_days": churn_days, "all": measured(list(buyers)),
            "by_tier": {tier.name: measured(by_tier.get(tier.name, [])) for tier in programme.tiers},
            "by_cohort": {_month_name(month): measured(ids) for month, ids in sorted(by_cohort.items())},
            "cohort_retention": [{"cohort": _month_name(month), "customers": len(by_cohort[month]),
                                  "months": [round(float(share), 4) for share in shares]}
                                 for month, shares in cohort_retention(months, cohort_of).items()]}


def rows(result):
    """Flat rows for a table or CSV: everyone, each tier, each cohort."""
    groups = [("all", result["all"])] + [(f"tier:{name}", found) for name, found in result["by_tier"].items()] \
        + [(f"cohort:{name}", found) for name, found in result["by_cohort"].items()]
    flat = []
    for group, found in groups:
        row = {"group": group}
        for key, value in found.items():
            row[key] = value["amount"] if isinstance(value, dict) else value
        flat.append(row)
    return flat

