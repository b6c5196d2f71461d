"""Customers: active, churn, repeat purchase rate, average order value, purchases a year,
lifetime value, for everyone, by current tier and by cohort (month of first purchase), and
the cohorts' retention month by month. rules/customers.py decides every measure, from
totals; the database sums each group's totals in one pass over the orders (fully refunded
ones do not count), each customer's in order of purchase (tests/test_reports_speedpaths.py
holds these sums equal to the rules' per-customer definitions)."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, or_, select

from loyalty.models import Customer, Order
from loyalty.models.types import UTCDateTime, utcnow
from loyalty.services.balances import money
from rules import local_date
from rules.customers import Totals, cohort_shares, measures

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


def _moment(value):
    return literal(value, UTCDateTime())


def _month_of(programme, placed_at, first, until):
    """The month (a number, as `_month`) of `placed_at` in the programme's zone: compared with
    the months' first moments, newest first, from the month of `first` to that of `until`."""
    zone, numbers = ZoneInfo(programme.timezone), range(_month(local_date(programme, first)), _month(until) + 1)
    starts = [(number, datetime.combine(date(number // 12, number % 12 + 1, 1), time(), tzinfo=zone))
              for number in numbers]
    return case(*[(placed_at >= _moment(start), number) for number, start in reversed(starts[1:])],
                else_=starts[0][0])


def _groups(session, programme, until, year_ago, active_since):
    """Rows of (tier, cohort, month, totals of the customers whose first order counting for
    each total is of that month, customers of the cohort buying in that month)."""
    first = session.execute(select(func.min(Order.placed_at)).where(_COUNTED, Order.placed_at < until)).scalar()
    if first is None:
        return []
    counted = (select(Order.customer_id, Order.placed_at, (Order.total - Order.refunded).label("spend"),
                      _month_of(programme, Order.placed_at, first, until.date()).label("month"))
               .where(_COUNTED, Order.placed_at < until).subquery("counted"))
    in_order = {"partition_by": counted.c.customer_id, "order_by": counted.c.placed_at}
    orders = select(counted, func.row_number().over(**in_order).label("number"),
                    func.lag(counted.c.placed_at, type_=UTCDateTime()).over(**in_order).label("before"),
                    func.lag(counted.c.month).over(**in_order).label("month_before"),
                    func.first_value(counted.c.month).over(**in_order).label("cohort")).subquery("orders")

    def first_since(moment):        # the customer's first order from `moment` on
        return and_(orders.c.placed_at >= moment, or_(orders.c.before.is_(None), orders.c.before < moment))

    def number(condition):
        return func.sum(case((condition, 1), else_=0))
    return session.execute(
        select(Customer.tier, orders.c.cohort, orders.c.month, number(orders.c.number == 1),
               number(first_since(_moment(active_since))), number(orders.c.number == 2), func.count(),
               func.sum(orders.c.spend), number(orders.c.placed_at >= _moment(year_ago)),
               number(first_since(_moment(year_ago))),
               number(or_(orders.c.month_before.is_(None), orders.c.month_before != orders.c.month)))
        .join(Customer, Customer.id == orders.c.customer_id)
        .group_by(Customer.tier, orders.c.cohort, orders.c.month)).all()


def customers(session, programme, as_of=None, churn_days=180):
    as_of = as_of or local_date(programme, utcnow())
    zone = ZoneInfo(programme.timezone)
    until = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=zone)
    year_ago = until - timedelta(days=365)
    # Active: the last purchase less than `churn_days` days before `as_of`, by local date.
    active_since = datetime.combine(as_of - timedelta(days=churn_days - 1), time(), tzinfo=zone)
    by_group, buying = {}, {}
    for tier, cohort, month, *counts, buyers in _groups(session, programme, until, year_ago, active_since):
        by_group[tier, cohort] = by_group.get((tier, cohort), Totals()) + Totals(*map(int, counts))
        buying[cohort, month] = buying.get((cohort, month), 0) + int(buyers)

    def summed(keep):
        return sum((found for key, found in by_group.items() if keep(*key)), Totals())
    by_cohort = {cohort: summed(lambda _, c: c == cohort) for cohort in sorted({c for _, c in by_group})}
    shares = cohort_shares({cohort: found.customers for cohort, found in by_cohort.items()}, buying)
    return {"as_of": as_of.isoformat(), "churn_days": churn_days,
            "all": _measures(programme, measures(summed(lambda *_: True))),
            "by_tier": {tier.name: _measures(programme, measures(summed(lambda t, _: t == tier.name)))
                        for tier in programme.tiers},
            "by_cohort": {_month_name(month): _measures(programme, measures(found)) for month, found in by_cohort.items()},
            "cohort_retention": [{"cohort": _month_name(month), "customers": by_cohort[month].customers,
                                  "months": [round(float(share), 4) for share in months]}
                                 for month, months in shares.items()]}


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
