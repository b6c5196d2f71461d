"""Tiers: customers per tier at each month's end, and the moves up and down each month
(rules/tier_mix.py). The history is the timeline's snapshots (the tier after each purchase
and refund, by business time) and the reviews' changes (tier_reviews).

Most customers never held another tier than the lowest: the database counts everyone by
month end, and only the others' histories are read (their count is taken off) (tests/test_reports_speedpaths.py holds the
counts equal to rules/tier_mix.py's per-customer definition)."""
from bisect import bisect_left
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select, union

from loyalty.extensions import one_of
from loyalty.models import Customer, TierReview, TimelineEvent
from loyalty.models.types import utcnow
from loyalty.reports.accounting import periods
from rules import local_date
from rules.tier_mix import tier_mix_counted

_TIER = TimelineEvent.tier


def _moved(programme, until):
    """The customers with a change to another tier than the lowest before `until` (on
    PostgreSQL the timeline's part is read from the index ix_timeline_events_moved)."""
    lowest = programme.lowest_tier.name
    return union(select(TimelineEvent.customer_id).where(TimelineEvent.at < until, _TIER != lowest),
                 select(TierReview.customer_id).where(TierReview.at < until, TierReview.to_tier != lowest))


def _enrolled():
    """When a customer starts to count: its enrolment or its first purchase, whichever is
    first (an import enrols customers today with purchases from years ago)."""
    return case((Customer.first_purchase_at < Customer.created_at, Customer.first_purchase_at),
                else_=Customer.created_at)


def _everyone_by_month_end(session, months):
    """[customers counting before each month's end], in one pass over the customers."""
    query = select(*[func.sum(case((or_(Customer.created_at < end, Customer.first_purchase_at < end), 1), else_=0))
                     for _, _, end in months])
    return [int(count or 0) for count in session.execute(query).one()]


def _histories(session, programme, until):
    """({customer: [(moment, tier after)]}, {customer: when it starts to count}) of the
    customers who moved. On PostgreSQL their histories are read by the ids as one array
    (from the index alone: it holds the tier), so the planner looks each one up."""
    moved = _moved(programme, until)
    postgres = session.get_bind().dialect.name == "postgresql"
    read = _driver_rows if postgres else (lambda _, statement: session.execute(statement).all())
    enrolled = dict(read(session, select(Customer.id, _enrolled()).where(Customer.id.in_(moved))))
    if postgres:
        def among(column):
            return one_of(session, column, enrolled)
    else:
        def among(column):
            return column.in_(moved)
    steps = select(TimelineEvent.customer_id, TimelineEvent.at, _TIER).where(
        among(TimelineEvent.customer_id), TimelineEvent.at < until)
    reviews = select(TierReview.customer_id, TierReview.at, TierReview.to_tier).where(
        among(TierReview.customer_id), TierReview.at < until)
    changes = {}
    for customer_id, at, tier in [*read(session, steps), *read(session, reviews)]:
        changes.setdefault(customer_id, []).append((at, tier))
    return changes, enrolled


def _driver_rows(session, statement):
    """PostgreSQL: the rows as the driver gives them, plain tuples with aware datetimes,
    without SQLAlchemy's per-row work (a third of a second per 100,000 rows here)."""
    compiled = statement.compile(dialect=session.get_bind().dialect)
    with session.connection().connection.cursor() as cursor:
        cursor.execute(str(compiled), compiled.params)
        return cursor.fetchall()


def tiers(session, programme, start=None, end=None):
    """Month by month from `start` to `end` (dates; default: the last 12 months)."""
    end = end or local_date(programme, utcnow())
    start = (start or date(end.year - 1, end.month, 1)).replace(day=1)
    zone = ZoneInfo(programme.timezone)
    months = [(f"{first:%Y-%m}", datetime.combine(first, time(), tzinfo=zone),
               datetime.combine(following, time(), tzinfo=zone)) for first, following in
              periods(programme, start, end, "month")]
    until = months[-1][2]
    changes, enrolled = _histories(session, programme, until)
    # Those who only ever held the lowest tier: everyone, less the customers who moved.
    starts = sorted(enrolled.values())
    lowest = [everyone - bisect_left(starts, end)
              for everyone, (_, _, end) in zip(_everyone_by_month_end(session, months), months)]
    mix = tier_mix_counted(programme, changes, enrolled, months, lowest)
    return {"months": [{**row, "end": (following.date() - timedelta(days=1)).isoformat()}
                       for row, (_, _, following) in zip(mix, months)]}


def rows(result):
    return [{"month": row["month"], **{f"tier_{name}": count for name, count in row["tiers"].items()},
             "up": row["up"], "down": row["down"]} for row in result["months"]]
