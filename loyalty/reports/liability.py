"""The points liability: what customers hold, valued at the redemption rate, with the
breakage expected from what became of past points (rules/accounting.py decides)."""
from sqlalchemy import BigInteger, cast, func, select

from loyalty.models import Customer, LedgerEntry
from loyalty.services.balances import money
from rules.accounting import liability as value_of

_HELD = select(cast(func.coalesce(func.sum(Customer.points_available), 0), BigInteger),
               cast(func.coalesce(func.sum(Customer.points_pending), 0), BigInteger))
_LEFT = (select(LedgerEntry.kind, cast(func.coalesce(func.sum(LedgerEntry.points), 0), BigInteger))
         .where(LedgerEntry.kind.in_(("redemption", "expiry"))).group_by(LedgerEntry.kind))


def liability(session, programme):
    available, pending = (int(value) for value in session.execute(_HELD).one())
    left = {kind: -int(points) for kind, points in session.execute(_LEFT)}
    owed = value_of(programme, available, pending, left.get("redemption", 0), left.get("expiry", 0))
    return {"available": owed.available, "pending": owed.pending, "value": money(programme, owed.value),
            "expected_breakage": owed.expected_breakage_ppm / 1_000_000,
            "expected_cost": money(programme, owed.expected_cost),
            "redeemed_to_date": left.get("redemption", 0), "expired_to_date": left.get("expiry", 0)}
