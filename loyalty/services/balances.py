"""What an account reads as: the balance (points, expiring points, tier, discount, spend),
the history, and the standing that quotes start from.

Read-only, through loyalty/autocommit.py (on PostgreSQL no ORM session, and a balance is one
statement). The cost does not grow with the customer's history: the cached standing (one
row), at most a year of daily spend buckets, and the newest lots until the balance is
covered.
"""
import base64
from datetime import date

from sqlalchemy import BigInteger, bindparam, case, cast, func, literal_column, select, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by

from loyalty import autocommit
from loyalty.errors import LoyaltyError
from loyalty.extensions import db, one_of
from loyalty.models import Customer, LedgerEntry, Order
from loyalty.services import spend
from rules import ManualPriority, discount_for, expiring_soonest, held_lots, local_date, support_flags, window_start


def read_standing(programme, customer_id, now, lots=False):
    """The customer's standing and qualifying spend as of `now`, in one read-only statement
    (no ORM objects): what balance and quotes need. With `lots`, on PostgreSQL the same
    statement works out `expiring` for the newest page of lots (`first_lots`), so a balance
    is one round trip."""
    with_lots = lots and db.engine.dialect.name == "postgresql"
    row = autocommit.first(_STANDING_AND_LOTS if with_lots else _STANDING,
                      {"customer_id": customer_id, "start": window_start(programme, now),
                       "end": local_date(programme, now)})
    if row is None:
        raise LoyaltyError(404, "not_found", "No such customer.")
    return row


LOTS_PER_READ = 50
# Lots: credits to available points, read newest first. The constants are inlined so that
# PostgreSQL's partial lots index serves prepared (generic) plans too.
_LOT = (LedgerEntry.status == literal_column("'available'"), LedgerEntry.points > literal_column("0"))
_NEWEST_FIRST = (LedgerEntry.available_on.desc(), LedgerEntry.id.desc())
_NEWEST_LOTS = (select(LedgerEntry.id, LedgerEntry.available_on, LedgerEntry.points)
                .where(LedgerEntry.customer_id == bindparam("customer_id"), *_LOT)
                .order_by(*_NEWEST_FIRST).limit(LOTS_PER_READ))
_LOTS_BEFORE = _NEWEST_LOTS.where(tuple_(LedgerEntry.available_on, LedgerEntry.id) < tuple_(bindparam("on"),
                                                                                            bindparam("entry")))
_STANDING_COLUMNS = select(*[Customer.__table__.c[name] for name in (
    "id", "points_available", "points_pending", "tier", "tier_since", "lifetime_spend", "first_purchase_at",
    "birthday", "tier_floor", "floor_since", "manual_priority_reason", "manual_priority_until",
    "manual_priority_by")], spend.window_sum(bindparam("start"), bindparam("end")).label("qualifying"))
_STANDING = _STANDING_COLUMNS.where(Customer.id == bindparam("customer_id"))
_newest = (select(LedgerEntry.id, LedgerEntry.available_on, LedgerEntry.points)
           .where(LedgerEntry.customer_id == Customer.id, *_LOT).order_by(*_NEWEST_FIRST).limit(LOTS_PER_READ)
           .correlate(Customer).subquery("newest"))
_held_before = func.sum(_newest.c.points).over(order_by=(_newest.c.available_on.desc(), _newest.c.id.desc())) \
    - _newest.c.points
_running = select(_newest.c.available_on, _newest.c.points, _held_before.label("before")).subquery("running")
_taken = func.least(_running.c.points, Customer.points_available - _running.c.before)
_covered = (select(_running.c.available_on, cast(func.sum(_taken), BigInteger).label("taken"))
            .where(_running.c.before < Customer.points_available).group_by(_running.c.available_on)
            .correlate(Customer).subquery("covered"))
# PostgreSQL only: `expiring` worked out on the first page of lots, as JSON {"held": points
# the page covers, "groups": [["YYYY-MM-DD" the lots became available, points], ...]}, or
# NULL without available points. The sums are cast back to bigint (a SUM of bigints is
# numeric), so points stay integers. The same rule as `expiring`, which takes over when the
# page does not cover the balance.
_FIRST_LOTS = case((Customer.points_available > 0, select(func.json_build_object(
    literal_column("'held'"), cast(func.coalesce(func.sum(_covered.c.taken), 0), BigInteger),
    literal_column("'groups'"), func.json_agg(aggregate_order_by(
        func.json_build_array(_covered.c.available_on, _covered.c.taken), _covered.c.available_on))))
    .scalar_subquery())).label("first_lots")
_STANDING_AND_LOTS = _STANDING.add_columns(_FIRST_LOTS)
# Several customers as the caller's transaction sees them (events out carry the balance).
_MANY = {"postgresql": _STANDING_COLUMNS.add_columns(_FIRST_LOTS), "sqlite": _STANDING_COLUMNS}


def manual_priority(customer):
    if customer.manual_priority_until is None:
        return None
    return ManualPriority(customer.manual_priority_reason, customer.manual_priority_until, customer.manual_priority_by)


def money(programme, amount):
    return {"amount": amount, "currency": programme.currency}


def balances_in(session, programme, customer_ids, now):
    """Customer id -> (balance, row) for several customers, read in `session`'s transaction so
    that what it has written shows: the events out of a change carry the balance after it."""
    if not customer_ids:
        return {}
    statement = _MANY[session.get_bind().dialect.name].where(one_of(session, Customer.id, customer_ids))
    rows = session.execute(statement, {"start": window_start(programme, now), "end": local_date(programme, now)})

    def lots(statement, parameters):
        return session.execute(statement, parameters).all()
    return {row.id: (balance(programme, row, now, lots), row) for row in rows}


def balance(programme, customer, now, lots=autocommit.rows):
    """`customer`: a row of read_standing. Ready for JSON as it is (times in ISO 8601), in
    the shape of schemas.Balance. `lots` reads the lots when they are needed (by default
    outside any transaction, as balance reads are)."""
    qualifying = customer.qualifying
    tier = programme.tier(customer.tier)
    higher = [t for t in programme.tiers if t.threshold > tier.threshold]
    following = None
    if higher:
        following = {"name": higher[0].name,
                     "spend_needed": money(programme, max(0, higher[0].threshold - qualifying))}
    flags = support_flags(programme, customer.tier, manual_priority(customer), now)
    since = customer.tier_since
    return {
        "customer_id": customer.id,
        "points": {"available": customer.points_available, "pending": customer.points_pending,
                   "expiring": expiring(programme, customer, lots)},
        "tier": {"name": tier.name, "since": since.isoformat() if since else None, "next": following},
        "discount_percent": discount_for(programme, customer.lifetime_spend)[0],
        "qualifying_spend": money(programme, qualifying),
        "lifetime_spend": money(programme, customer.lifetime_spend),
        "priority_support": flags.priority,
    }


def expiring(programme, customer, lots=autocommit.rows):
    """What expires next, by date, soonest first (at most 12). Points are used oldest lot
    first, so the balance sits in the newest lots (rules/lots.py): they are read newest
    first, a page at a time, only until the cached balance is covered, whatever the length
    of the history. On PostgreSQL the standing's statement has already done this for the
    newest page (`first_lots`)."""
    if customer.points_available <= 0:
        return []                                       # nothing held, nothing to expire
    first = getattr(customer, "first_lots", None)       # PostgreSQL's statement has it
    if first is not None and first["held"] >= customer.points_available:
        held = {date.fromisoformat(on): points for on, points in first["groups"]}
    else:
        held = held_lots(_newest_lots(customer.id, lots), customer.points_available)
    return [{"points": points, "on": on.isoformat()} for on, points in expiring_soonest(programme, held)]


def _newest_lots(customer_id, read):
    """The customer's lots newest first, read LOTS_PER_READ at a time, each page only when asked for."""
    lots = read(_NEWEST_LOTS, {"customer_id": customer_id})
    while lots:
        yield from lots
        if len(lots) < LOTS_PER_READ:
            return
        last = lots[-1]
        lots = read(_LOTS_BEFORE, {"customer_id": customer_id, "on": last.available_on, "entry": last.id})


def _cursor(entry_id):
    return base64.urlsafe_b64encode(f"e{entry_id}".encode()).decode().rstrip("=")


def _after(cursor):
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("e"):
            raise ValueError(text)
        entry = int(text[1:])
        if not 0 < entry < 2**63:
            raise ValueError(entry)
        return entry
    except ValueError:
        raise LoyaltyError(400, "malformed_request", "The cursor is not one this service gave out.",
                           {"cursor": cursor}) from None


# Who did it, as the customer reads it: the role, never a key's prefix or name.
_ROLE_OF_KIND = {"adjustment": "support", "redemption": "shop"}


def _by(row, staff):
    if row.actor is None or staff:
        return row.actor
    return _ROLE_OF_KIND.get(row.kind, "staff")


def transactions(customer_id, limit, cursor=None, staff=True):
    """History, newest first, `limit` at a time; `next_cursor` continues where this page ended.
    `staff` callers see who did each support action; the customer sees only the role."""
    if autocommit.first(_CUSTOMER, {"customer_id": customer_id}) is None:
        raise LoyaltyError(404, "not_found", "No such customer.")
    if cursor:
        rows = autocommit.rows(_HISTORY_BEFORE, {"customer_id": customer_id, "limit": limit + 1, "entry": _after(cursor)})
    else:
        rows = autocommit.rows(_HISTORY, {"customer_id": customer_id, "limit": limit + 1})
    page = rows[:limit]
    entries = [{"id": row.id, "kind": row.kind, "points": row.points, "status": row.status, "at": row.at,
                "order_id": row.order_key, "reason": row.reason, "rules": [rule for rule, _ in row.rules],
                "programme_version": row.programme_version, "by": _by(row, staff), "source": row.source}
               for row in page]
    return {"entries": entries, "next_cursor": _cursor(page[-1].id) if len(rows) > limit else None}


_CUSTOMER = select(Customer.id).where(Customer.id == bindparam("customer_id"))
_HISTORY = (select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.points, LedgerEntry.status, LedgerEntry.at,
                   Order.order_key, LedgerEntry.reason, LedgerEntry.rules, LedgerEntry.programme_version,
                   LedgerEntry.actor, LedgerEntry.source)
            .outerjoin(Order, LedgerEntry.order_id == Order.id)
            .where(LedgerEntry.customer_id == bindparam("customer_id"))
            .order_by(LedgerEntry.id.desc()).limit(bindparam("limit")))
_HISTORY_BEFORE = _HISTORY.where(LedgerEntry.id < bindparam("entry"))
