"""Tiers: customers per tier at each month's end, and the moves up and down each month
(rules/tier_mix.py). The history is the timeline's snapshots (the tier after each purchase
and refund, by business time) and the reviews' changes (tier_reviews).

Most customers never held another tier than the lowest: the database counts those by
month end; only the others' histories are read (tests/test_reports_speedpaths.py holds the
counts equal to rules/tier_mix.py's per-customer definition)."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select, union

from loyalty.models import Customer, TierReview, TimelineEvent
from loyalty.models.types import utcnow
from loyalty.reports.accounting import periods
from rules import local_date
from rules.tier_mix import tier_mix_counted

_TIER = TimelineEvent.standing_after["tier"].as_string()


def _moved(programme, until):
    """The customers with a change to another tier than the lowest before `until` (on
    PostgreSQL the timeline's part is read from the index ix_timeline_events_moved)."""
    lowest = programme.lowest_tier.name
    return union(select(TimelineEvent.customer_id).where(TimelineEvent.at < until, _TIER != lowest),
                 select(TierReview.customer_id).where(TierReview.at < until, TierReview.to_tier != lowest))


def _lowest_by_month_end(session, moved, months):
    """[customers who held only the lowest tier, enrolled before each month's end]. A
    customer counts from its enrolment or its first change, whichever is first."""
    firsts = [select(table.customer_id, func.min(table.at).label("at")).where(table.at < months[-1][2])
              .group_by(table.customer_id).subquery() for table in (TimelineEvent, TierReview)]
    moved = moved.subquery()
    query = select(*[func.sum(case((or_(Customer.created_at < end, *[first.c.at < end for first in firsts]), 1),
                                   else_=0)) for _, _, end in months]).select_from(Customer)
    for first in firsts:
        query = query.outerjoin(first, first.c.customer_id == Customer.id)
    counts = session.execute(query.outerjoin(moved, moved.c.customer_id == Customer.id)
                             .where(moved.c.customer_id.is_(None))).one()
    return [int(count or 0) for count in counts]


def _histories(session, moved, until):
    """({customer: [(moment, tier after)]}, {customer: enrolled}) of the customers who moved."""
    moved = moved.subquery()
    created = dict(session.execute(select(Customer.id, Customer.created_at)
                                   .join(moved, moved.c.customer_id == Customer.id)).all())
    steps = select(TimelineEvent.customer_id, TimelineEvent.at, _TIER).join(
        moved, moved.c.customer_id == TimelineEvent.customer_id).where(TimelineEvent.at < until)
    reviews = select(TierReview.customer_id, TierReview.at, TierReview.to_tier).join(
        moved, moved.c.customer_id == TierReview.customer_id).where(TierReview.at < until)
    changes = {}
    for customer_id, at, tier in [*session.execute(steps), *session.execute(reviews)]:
        changes.setdefault(customer_id, []).append((at, tier))
    # A customer is counted from its enrolment or its first change, whichever is first
    # (an import enrols customers today with purchases from years ago).
    return changes, {customer: min(since, *(at for at, _ in changes[customer])) for customer, since in created.items()}


def tiers(session, programme, start=None, end=None):
    """Month by month from `start` to `end` (dates; default: the last 12 months)."""
    end = end or local_date(programme, utcnow())
    start = (start or date(end.year - 1, end.month, 1)).replace(day=1)
    zone = ZoneInfo(programme.timezone)
    months = [(f"{first:%Y-%m}", datetime.combine(first, time(), tzinfo=zone),
               datetime.combine(following, time(), tzinfo=zone)) for first, following in
              periods(programme, start, end, "month")]
    until = months[-1][2]
    moved = _moved(programme, until)
    changes, enrolled = _histories(session, moved, until)
    mix = tier_mix_counted(programme, changes, enrolled, months, _lowest_by_month_end(session, moved, months))
    return {"months": [{**row, "end": (following.date() - timedelta(days=1)).isoformat()}
                       for row, (_, _, following) in zip(mix, months)]}


def rows(result):
    return [{"month": row["month"], **{f"tier_{name}": count for name, count in row["tiers"].items()},
             "up": row["up"], "down": row["down"]} for row in result["months"]]
