"""The birthday gift (`[birthday_gift]` in the programme; without it this job reads nothing):
points on the customer's birthday, for today only. rules/birthday.py decides who gets one;
this reads, a range of customer ids at a time, only the customers whose birthday falls
today, locks their rows, asks the rules, and in the range's one transaction books a
`birthday` ledger entry for each (available at once, a lot dated today: it expires as
goodwill does), moves their cached balance by it, records today as their last gift, and
records a `points.adjusted` event out when an endpoint takes it (as goodwill does, with
`by` null). The last gift's date is read under the row lock and written with the points,
so a second run the same day, a run after a crash, or a range run twice gives nothing twice.
An import's run of the jobs over history skips this job (loyalty/jobs/__init__.py)."""
from sqlalchemy import and_, bindparam, extract, func, insert, or_, select, update

from loyalty.extensions import one_of
from loyalty.jobs.batches import keyset_ranges
from loyalty.models import Customer, LedgerEntry
from loyalty.outbox import record as outbox
from loyalty.outbox.catalog import Notice
from rules import birthdays_on, gift_due, gift_entry, local_date

CUSTOMERS, LEDGER = Customer.__table__, LedgerEntry.__table__
ZERO = {"customers": 0, "points": 0}


def _celebrating(today):
    """Customers whose birthday is celebrated today (29 February ones on 28 February of other years)."""
    return or_(*[and_(extract("month", Customer.birthday) == month, extract("day", Customer.birthday) == day)
                 for month, day in birthdays_on(today)])


def ranges(session, programme, now, today, size):
    if programme.birthday_gift is None:
        return []
    batch = (select(Customer.id).where(_celebrating(today), Customer.id > bindparam("after"))
             .order_by(Customer.id).limit(size).subquery())
    return keyset_ranges(session, select(func.max(batch.c.id)), {}, start="")


def apply(session, programme, now, today, after, upto):
    gift = programme.birthday_gift
    query = (select(Customer.id, Customer.birthday, Customer.birthday_set_at, Customer.birthday_gift_on)
             .where(_celebrating(today), Customer.id > after, Customer.id <= upto).order_by(Customer.id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()         # in id order, as every writer locks customers
    due = [row.id for row in session.execute(query) if gift_due(
        gift, row.birthday, today, row.birthday_set_at and local_date(programme, row.birthday_set_at),
        row.birthday_gift_on)]
    if not due:
        return dict(ZERO)
    entry = gift_entry(gift)
    rules = [list(hit) for hit in entry.rules]
    booked = session.execute(insert(LEDGER).returning(LEDGER.c.id, LEDGER.c.customer_id), [
        {"customer_id": customer_id, "kind": "birthday", "points": entry.points, "status": "available", "at": now,
         "available_on": today, "reason": entry.reason, "rules": rules, "programme_version": programme.version,
         "created_at": now, "source": "jobs"} for customer_id in due]).all()
    session.execute(update(CUSTOMERS).where(one_of(session, CUSTOMERS.c.id, due)).values(
        points_available=CUSTOMERS.c.points_available + entry.points, birthday_gift_on=today))
    if outbox.wanted(session, "points.adjusted"):
        outbox.record(session, programme, [
            Notice("points.adjusted", customer_id, {"points": entry.points, "reason": entry.reason, "by": None,
                                                    "entry_id": entry_id})
            for entry_id, customer_id in sorted(booked, key=lambda row: row.customer_id)], now)
    return {"customers": len(due), "points": len(due) * entry.points}
