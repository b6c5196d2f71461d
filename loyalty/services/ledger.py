"""The append-only ledger: every movement of points is a new entry, and the cached
balance on the customer row moves in the same transaction by the same amount.

`book` serves the API's actions (redemptions, goodwill); purchases and refunds are booked
by the batch applier (loyalty/applier), which writes its entries in bulk."""
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.inputs import clip
from loyalty.models import Customer, LedgerEntry
from loyalty.programme import current_programme
from rules import local_date


def book(customer, kind, points, status, at, *, order=None, reason="", rules=(), version=None,
         available_on=None, actor=None):
    """Append one entry and move the customer's cached balance with it."""
    if points == 0:
        return None
    if status == "available" and points > 0 and available_on is None:
        available_on = local_date(current_programme(), at)      # a lot: it expires counted from this date
    entry = LedgerEntry(customer_id=customer.id, order=order, kind=kind,
                        points=points, status=status, at=at, available_on=available_on,
                        reason=clip(reason, LedgerEntry.reason),
                        rules=[list(hit) if isinstance(hit, (list, tuple)) else [hit.rule, hit.points]
                               for hit in rules],
                        programme_version=version, actor=actor, source="api")
    db.session.add(entry)
    if status == "pending":
        customer.points_pending += points
    else:
        customer.points_available += points
    return entry


def differences():
    """Customers whose cached balance is not the sum of their ledger entries."""
    sums = (select(LedgerEntry.customer_id, LedgerEntry.status, func.sum(LedgerEntry.points).label("points"))
            .where(LedgerEntry.status.in_(("pending", "available")))
            .group_by(LedgerEntry.customer_id, LedgerEntry.status).subquery())
    pending = select(sums.c.points).where(sums.c.customer_id == Customer.id, sums.c.status == "pending")
    available = select(sums.c.points).where(sums.c.customer_id == Customer.id, sums.c.status == "available")
    rows = db.session.execute(select(
        Customer.id, Customer.points_pending, Customer.points_available,
        func.coalesce(pending.scalar_subquery(), 0), func.coalesce(available.scalar_subquery(), 0)))
    return [(cid, (cp, ca), (lp, la)) for cid, cp, ca, lp, la in rows if (cp, ca) != (lp, la)]
