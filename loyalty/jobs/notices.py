"""Dated events out: birthdays, points about to expire, tiers a review would lower, manual
priorities that have ended. The rules
that decide each are rules/notices.py; this reads a range of customers in bulk, asks them,
and records the events. Each carries a key (customer, what, which day), so a second run the
same day, or after a crash, sends nothing twice. With no endpoint taking any of the three
types, nothing is read at all."""
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import BigInteger, Date, String, extract, select

from loyalty.jobs import expiry
from loyalty.jobs.batches import CUTOFF, keyset_ranges, lock_customers, sql
from loyalty.models import Customer, SpendBucket
from loyalty.outbox import record as outbox
from loyalty.outbox.catalog import Notice
from loyalty.applier.notices import priority_moved
from loyalty.services.balances import manual_priority, money
from loyalty.services.snapshots import standing_of
from rules import birthday_today, downgrade_forecast, expiry_notices, window_start

TYPES = ("customer.birthday", "points.expiring", "tier.will_downgrade", "priority.changed")
MANUAL_LOOKBACK = timedelta(days=7)     # a manual priority that ended this recently, and was not announced
NEXT = sql("""SELECT max(id) FROM (SELECT id FROM customers WHERE id > :after ORDER BY id LIMIT :size) AS batch""")
LOTS = sql(expiry.REMAINING + " SELECT customer_id, available_on, points FROM remaining ORDER BY customer_id",
           CUTOFF).columns(customer_id=String, available_on=Date, points=BigInteger)

ZERO = {"birthday": 0, "expiring": 0, "will_downgrade": 0, "manual_priority_ended": 0}


def ranges(session, programme, now, today, size):
    if not outbox.wanted(session, *TYPES):
        return []
    return keyset_ranges(session, NEXT, {"size": size}, start="")


def _in_range(query, after, upto):
    return query.where(Customer.id > after, Customer.id <= upto)


def _birthdays(session, programme, today, after, upto):
    rows = session.execute(_in_range(select(Customer.id, Customer.birthday), after, upto).where(
        Customer.birthday.is_not(None), extract("month", Customer.birthday) == today.month))
    return [Notice("customer.birthday", row.id, {"birthday": row.birthday, "on": today},
                   dedupe_key=f"birthday:{today.year}:{row.id}")
            for row in rows if birthday_today(programme, row.birthday, today)]


def _expiring(session, programme, today, after, upto):
    leads = programme.notices.expiring_days
    if not leads:
        return []
    cutoff = today - timedelta(days=programme.expiry_days) + timedelta(days=max(leads))
    held = defaultdict(dict)
    for row in session.execute(LOTS, {"after": after, "upto": upto, "cutoff": cutoff}):
        held[row.customer_id][row.available_on] = int(row.points)
    return [Notice("points.expiring", customer_id, {"points": notice.points, "on": notice.on,
                                                    "lead_days": notice.lead_days},
                   dedupe_key=f"expiring:{notice.on}:{notice.lead_days}:{customer_id}")
            for customer_id, lots in held.items() for notice in expiry_notices(programme, lots, today)]


def _will_downgrade(session, programme, now, today, after, upto):
    lowest = programme.lowest_tier.name
    customers = session.execute(_in_range(select(Customer), after, upto).where(Customer.tier != lowest)).scalars().all()
    if not customers:
        return []
    buckets = defaultdict(dict)
    for row in session.execute(select(SpendBucket.customer_id, SpendBucket.day, SpendBucket.amount).where(
            SpendBucket.customer_id > after, SpendBucket.customer_id <= upto,
            SpendBucket.day >= window_start(programme, now), SpendBucket.day <= today)):
        buckets[row.customer_id][row.day] = row.amount
    notices = []
    for customer in customers:
        forecast = downgrade_forecast(programme, standing_of(customer, 0), buckets[customer.id], today)
        if forecast is not None:
            notices.append(Notice("tier.will_downgrade", customer.id, {
                "tier": forecast.tier, "to": forecast.to, "on": forecast.on,
                "spend_needed": money(programme, forecast.spend_needed),
                "qualifying_spend": money(programme, forecast.qualifying_spend)},
                dedupe_key=f"will_downgrade:{forecast.on}:{forecast.tier}:{customer.id}"))
    return notices


def _manual_ended(session, programme, now, after, upto):
    """`priority.changed` for a manual priority whose `until` has passed, when the flags it
    gave go with it (a gold customer keeps priority through its tier)."""
    rows = session.execute(_in_range(select(Customer), after, upto).where(
        Customer.manual_priority_until <= now, Customer.manual_priority_until > now - MANUAL_LOOKBACK)).scalars()
    notices = []
    for customer in rows:
        manual = manual_priority(customer)
        moved = priority_moved(programme, customer.tier, customer.tier, manual, "manual", now,
                               before=manual.until - timedelta(microseconds=1))
        if moved is not None:
            data = {**moved, "ended": manual.until, "reason": manual.reason}
            notices.append(Notice("priority.changed", customer.id, data,
                                  dedupe_key=f"manual_ended:{manual.until.isoformat()}:{customer.id}"))
    return notices


def apply(session, programme, now, today, after, upto):
    taken = outbox.subscribers(session)
    notices = []
    if taken.get("customer.birthday"):
        notices += _birthdays(session, programme, today, after, upto)
    if taken.get("points.expiring"):
        notices += _expiring(session, programme, today, after, upto)
    if taken.get("tier.will_downgrade"):
        notices += _will_downgrade(session, programme, now, today, after, upto)
    if taken.get("priority.changed"):
        notices += _manual_ended(session, programme, now, after, upto)
    lock_customers(session, {notice.customer_id for notice in notices})
    outbox.record(session, programme, notices, now)
    kinds = {"customer.birthday": "birthday", "points.expiring": "expiring", "tier.will_downgrade": "will_downgrade",
             "priority.changed": "manual_priority_ended"}
    counts = dict(ZERO)
    for notice in notices:
        counts[kinds[notice.type]] += 1
    return counts
