"""Points accounting by day or month: opening, each kind of movement, closing.

Periods are calendar days or months in the programme's time zone. An entry counts in the
period in which it was booked (`created_at`), not the business time it is about: a late
event or an import books its entries today, so a period once closed never changes, as
finance needs. Reads run in one snapshot (REPEATABLE READ on PostgreSQL), so the opening
worked out from today's balances and the movements agree to the point."""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, cast, func, select

from loyalty.errors import LoyaltyError
from loyalty.models import Customer, LedgerEntry
from loyalty.models.types import utcnow
from rules import local_date
from rules.accounting import MOVEMENTS, closing, movements

MAX_PERIODS = 1000
_SUMS = (select(LedgerEntry.kind, LedgerEntry.status, cast(func.sum(LedgerEntry.points), BigInteger))
         .group_by(LedgerEntry.kind, LedgerEntry.status))
_BALANCES = select(cast(func.coalesce(func.sum(Customer.points_available + Customer.points_pending), 0), BigInteger))
_SINCE = select(cast(func.coalesce(func.sum(LedgerEntry.points), 0), BigInteger))


def periods(programme, start, end, by):
    """[(first day, day after the last)] of each day or month from `start` to `end` (dates)."""
    found, day = [], start
    while day <= end:
        if by == "day":
            following = date.fromordinal(day.toordinal() + 1)
        else:
            following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        found.append((day, following))
        day = following
        if len(found) > MAX_PERIODS:
            raise LoyaltyError(422, "invalid_request", f"At most {MAX_PERIODS} periods in one report.")
    return found


def _moment(programme, day):
    return datetime.combine(day, time(), tzinfo=ZoneInfo(programme.timezone))


def _sums(session, since, until):
    rows = session.execute(_SUMS.where(LedgerEntry.created_at >= since, LedgerEntry.created_at < until))
    return {(kind, status): int(points) for kind, status, points in rows}


def accounting(session, programme, start=None, end=None, by="month"):
    """{"periods": [...]} from `start` to `end` (dates; default: this month so far)."""
    today = local_date(programme, utcnow())
    end = end or today
    start = start or (end.replace(day=1) if by == "month" else end)
    if by == "month":
        start = start.replace(day=1)
    if end < start:
        raise LoyaltyError(422, "invalid_request", "`to` must not be before `from`.")
    spans = periods(programme, start, end, by)
    first = _moment(programme, spans[0][0])
    # The opening, from today's balances less everything booked since: one read of the
    # customers, not of every entry before the start.
    opening = int(session.execute(_BALANCES).scalar()) - int(
        session.execute(_SINCE.where(LedgerEntry.created_at >= first)).scalar())
    found = []
    for day, following in spans:
        moved = movements(_sums(session, _moment(programme, day), _moment(programme, following)))
        ending = closing(opening, moved)
        found.append({"start": day.isoformat(), "end": date.fromordinal(following.toordinal() - 1).isoformat(),
                      "opening": opening, **{name: moved[name] for name in MOVEMENTS}, "closing": ending})
        opening = ending
    return {"period": by, "periods": found}
