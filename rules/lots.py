"""Lots and expiry: which points expire, and when.

Every credit to available points (points becoming available after the return window,
goodwill, a positive correction) is a lot, dated by the day its points became available.
Points are always used oldest lot first: spending, clawbacks and earlier expiries all
take from the oldest lots before the newer ones (two lots of the same day go in the order
they were booked). So whatever a customer still has sits in their newest lots. What is
left of a lot on its expiry date (`expiry_days`, 365 by default, after it became
available) expires; a lot that was used up has nothing left to expire. With a balance of
zero or below, nothing expires.
"""
from typing import NamedTuple

from rules.calendar import expires_on

EXPIRING_SHOWN = 12     # the balance lists this many expiry dates, soonest first


class Lot(NamedTuple):
    """A credit to available points: its ledger entry id (the booking order within a
    day), the date its points became available, and its points (or what is left of them).
    Anything with these three attributes (a database row) will do where a lot is asked for."""

    id: int
    available_on: object    # a date
    points: int


def oldest_first(lots):
    """Lots in the order points are used: by the date they became available, then as booked."""
    return sorted(lots, key=lambda lot: (lot.available_on, lot.id))


def remaining_lots(lots, debited):
    """What is left of each lot once `debited` points (spent, clawed back or expired: a
    total, zero or more) have been used, oldest lot first. Answers the lots that still hold
    points, oldest first, each with what it still holds."""
    to_use, left = max(debited, 0), []
    for lot in oldest_first(lots):
        used = min(lot.points, to_use)
        to_use -= used
        if lot.points > used:
            left.append(Lot(lot.id, lot.available_on, lot.points - used))
    return left


def held_lots(newest_first, balance):
    """The same rule seen from the balance: a balance sits in the newest lots. Walks lots
    given newest first only until `balance` is covered (lots after that are never read, so
    they can be fetched page by page as asked for). Answers {date became available: points
    still held}; nothing for a balance of zero or below."""
    held, to_cover = {}, balance
    if to_cover <= 0:
        return held
    for lot in newest_first:
        taken = min(lot.points, to_cover)
        held[lot.available_on] = held.get(lot.available_on, 0) + taken
        to_cover -= taken
        if not to_cover:
            break
    return held


def points_by_date(lots):
    """{date became available: points} of these lots."""
    totals = {}
    for lot in lots:
        totals[lot.available_on] = totals.get(lot.available_on, 0) + lot.points
    return totals


def expiring_soonest(programme, held):
    """What will expire, from `held` ({date became available: points still held}): pairs of
    (expiry date, points), soonest first, at most EXPIRING_SHOWN of them."""
    by_expiry = {}
    for became_available, points in held.items():
        on = expires_on(programme, became_available)
        by_expiry[on] = by_expiry.get(on, 0) + points
    return sorted(by_expiry.items())[:EXPIRING_SHOWN]


def expired_by(programme, lots, debited, today):
    """What has expired by `today` and not yet been booked: what is left (after `debited`
    points, earlier expiries included) of the lots whose expiry date is `today` or before.
    Answers {date became available: points to expire}."""
    return points_by_date(lot for lot in remaining_lots(lots, debited)
                          if expires_on(programme, lot.available_on) <= today)
