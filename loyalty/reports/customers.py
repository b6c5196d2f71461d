"""Customers: active, churn, repeat purchase rate, average order value, purchases a year,
lifetime value, for everyone, by current tier and by cohort (month of first purchase), and
the cohorts' retention month by month. rules/customers.py decides every measure, from
totals; the database sums each group's totals in one pass over the orders (fully refunded
ones do not count), each customer's in order of purchase (tests/test_reports_speedpaths.py
holds these sums equal to the rules' per-customer definitions)."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from loyalty.models import Customer, Order
from loyalty.models.types import UTCDateTime, utcnow
from loyalty.services.balances import money
from rules import local_date
from rules.customers import Totals, cohort_shares, measures

_COUNTED = Order.refunded < Order.total
# PostgreSQL numbers the months from this one's (see `_groups`).
_MONTHS_FROM = datetime(1970, 1, 1, tzinfo=timezone.utc)


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


def _months(programme, first, until, postgres):
    """A function answering the month (a number, as `_month`) of a moment column in the
    programme's zone, from the month of `first` to that of `until`: the month before
    `first`'s plus how many of these months' first moments (in the zone, worked out here
    as rules/ does) are at or before the moment (an older moment gets the month before
    `first`'s). PostgreSQL counts them by bisection, width_bucket over the moments as one
    array parameter; SQLite compares with each, newest first."""
    zone, numbers = ZoneInfo(programme.timezone), range(_month(local_date(programme, first)), _month(until) + 1)
    starts = [(number, datetime.combine(date(number // 12, number % 12 + 1, 1), time(), tzinfo=zone))
              for number in numbers]
    if postgres:
        moments = bindparam("month_starts", [start for _, start in starts], type_=ARRAY(UTCDateTime()))
        return lambda moment: literal(numbers[0] - 1) + func.width_bucket(moment, moments, type_=Integer)
    return lambda moment: case(*[(moment >= _moment(start), number) for number, start in reversed(starts)],
                               else_=numbers[0] - 1)


def _groups(session, programme, until, year_ago, active_since):
    """Rows of (tier, cohort, month, totals of the customers whose first order counting for
    each total is of that month, customers of the cohort buying in that month); the tier is
    None for the lowest.

    The months are numbered from the oldest order's. On PostgreSQL, from 1970's first
    (bisecting some hundreds of months costs no more than a few dozen), which spares a pass
    over the orders to find the oldest; only if an order is older than that are they
    summed again, from the oldest."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and until > _MONTHS_FROM:
        found = _summed(session, programme, _MONTHS_FROM, until, year_ago, active_since, postgres)
        if all(cohort >= _month(local_date(programme, _MONTHS_FROM)) for _, cohort, *_ in found):
            return found
    first = session.execute(select(func.min(Order.placed_at)).where(_COUNTED, Order.placed_at < until)).scalar()
    return [] if first is None else _summed(session, programme, first, until, year_ago, active_since, postgres)


def _summed(session, programme, first, until, year_ago, active_since, postgres):
    """`_groups` with the months numbered from that of `first`, in one pass over the orders
    in each customer's order of purchase (on PostgreSQL read from the index
    ix_orders_customer_placed_at when the table is vacuumed, else sorted). The tier comes
    from a join with only the customers above the lowest tier (a few; the others hold the
    lowest), merged or hashed before the window: nothing as large as the customers table is
    hashed. One window (the same partition, order and frame for every function: one pass),
    as few functions as will do: the month of the order before is worked out again from its
    moment, cheaper than the window's fetching it (a sixth of the query's time). Sums as
    counts with a filter."""
    month_of = _months(programme, first, until.date(), postgres)
    above_lowest = (select(Customer.id, Customer.tier).where(Customer.tier != programme.lowest_tier.name)
                    .subquery("above_lowest"))
    counted = (select(Order.customer_id, above_lowest.c.tier, Order.placed_at,
                      (Order.total - Order.refunded).label("spend"), month_of(Order.placed_at).label("month"))
               .select_from(Order).outerjoin(above_lowest, above_lowest.c.id == Order.customer_id)
               .where(_COUNTED, Order.placed_at < until).subquery("counted"))
    in_order = {"partition_by": counted.c.customer_id, "order_by": counted.c.placed_at, "rows": (None, 0)}
    orders = select(counted, func.row_number().over(**in_order).label("number"),
                    func.lag(counted.c.placed_at, type_=UTCDateTime()).over(**in_order).label("before"),
                    func.first_value(counted.c.month).over(**in_order).label("cohort")).subquery("orders")

    def first_since(moment):        # the customer's first order from `moment` on
        return and_(orders.c.placed_at >= moment, or_(orders.c.before.is_(None), orders.c.before < moment))

    def number(condition):
        return func.count().filter(condition)
    return session.execute(
        select(orders.c.tier, orders.c.cohort, orders.c.month, number(orders.c.number == 1),
               number(first_since(_moment(active_since))), number(orders.c.number == 2), func.count(),
               func.sum(orders.c.spend), number(orders.c.placed_at >= _moment(year_ago)),
               number(first_since(_moment(year_ago))),
               number(or_(orders.c.before.is_(None), month_of(orders.c.before) != orders.c.month)))
        .group_by(orders.c.tier, orders.c.cohort, orders.c.month)).all()


def customers(session, programme, as_of=None, churn_days=180):
    as_of = as_of or local_date(programme, utcnow())
    zone = ZoneInfo(programme.timezone)
    until = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=zone)
    year_ago = until - timedelta(days=365)
    # Active: the last purchase less than `churn_days` days before `as_of`, by local date.
    active_since = datetime.combine(as_of - timedelta(days=churn_days - 1), time(), tzinfo=zone)
    by_group, buying = {}, {}
    lowest = programme.lowest_tier.name
    for tier, cohort, month, *counts, buyers in _groups(session, programme, until, year_ago, active_since):
        tier = lowest if tier is None else tier
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
