"""Tiers: customers per tier at each month's end, and the moves up and down each month
(rules/tier_mix.py). The history is the timeline's snapshots (the tier after each purchase
and refund, by business time) and the reviews' changes (tier_reviews).

Most customers never held another tier than the lowest: the database counts everyone by
month end, and only the others' histories are read (their count is taken off)
(tests/test_reports_speedpaths.py holds the counts equal to rules/tier_mix.py's
per-customer definition).

Moments are handed to rules/tier_mix.py as whole microseconds since 1970 (on PostgreSQL
the database converts them): the mix compares each change with the months' ends many
times, and integers compare several times faster than datetimes in two zones."""
import gc
from bisect import bisect_left
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, case, cast, extract, func, or_, select, union_all
from sqlalchemy.orm import aliased

from loyalty.models import Customer, TierReview, TimelineEvent
from loyalty.models.types import utcnow
from loyalty.reports.accounting import periods
from rules import local_date
from rules.tier_mix import tier_mix_counted

_TIER = TimelineEvent.tier
_ABOVE_LOWEST = aliased(TimelineEvent)        # another step of the same customer
_EPOCH, _MICROSECOND = datetime(1970, 1, 1, tzinfo=timezone.utc), timedelta(microseconds=1)


def _micros(moment):
    """A moment as whole microseconds since 1970 (exact)."""
    return (moment - _EPOCH) // _MICROSECOND


def _moved(programme):
    """The customers with a change to another tier than the lowest, at any time, as two
    subqueries: by their timeline (on PostgreSQL read from the index ix_timeline_events_moved
    alone, in the customers' order, as the customer's index of steps is: the two are merged)
    and by the reviews (a few). A customer who moved only after the report's end is read
    too, and its history up to the end holds the lowest tier throughout: the mix is the
    same as if it were counted with the others."""
    lowest = programme.lowest_tier.name
    return (select(TimelineEvent.customer_id).where(_TIER != lowest),
            select(TierReview.customer_id).where(TierReview.to_tier != lowest))


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
    customers who moved, moments in microseconds. The moved customers are subqueries, so
    the database finds their histories itself (in the customer's index of steps, which
    holds the tier), without their ids sent back and forth: the steps of those who moved by
    their timeline, then of those who moved by a review only, then the reviews."""
    by_steps, by_reviews = _moved(programme)
    read = _Reader(session)
    enrolled = dict(read(select(Customer.id, read.micros(_enrolled()))
                         .where(Customer.id.in_(union_all(by_steps, by_reviews)))))
    moved_by_steps = (select(_ABOVE_LOWEST.id).where(_ABOVE_LOWEST.customer_id == TimelineEvent.customer_id,
                                                     _ABOVE_LOWEST.tier != programme.lowest_tier.name).exists())
    steps = select(TimelineEvent.customer_id, read.micros(TimelineEvent.at), _TIER).where(TimelineEvent.at < until)
    reviews = select(TierReview.customer_id, read.micros(TierReview.at), TierReview.to_tier).where(
        TierReview.at < until, or_(TierReview.customer_id.in_(by_steps), TierReview.customer_id.in_(by_reviews)))
    changes = defaultdict(list)
    for customer_id, at, tier in read(union_all(
            steps.where(TimelineEvent.customer_id.in_(by_steps)),
            steps.where(TimelineEvent.customer_id.in_(by_reviews), ~moved_by_steps), reviews)):
        changes[customer_id].append((at, tier))
    return changes, enrolled


class _Reader:
    """Rows of (key, moment in microseconds, ...). PostgreSQL: the database converts the
    moments, and the rows come as the driver gives them (in binary), plain tuples, without
    SQLAlchemy's per-row work (a third of a second per 100,000 rows here). SQLite: through
    SQLAlchemy (it keeps no zone), converted here."""

    def __init__(self, session):
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def micros(self, column):
        return cast(extract("epoch", column) * 1000000, BigInteger) if self.postgres else column

    def __call__(self, statement):
        if not self.postgres:
            return [(key, _micros(moment), *rest) for key, moment, *rest in self.session.execute(statement)]
        compiled = statement.compile(dialect=self.session.get_bind().dialect)
        with self.session.connection().connection.cursor(binary=True) as cursor:
            cursor.execute(str(compiled), compiled.params)
            return cursor.fetchall()


@contextmanager
def _no_cycle_collection():
    """The histories are some hundred thousand small tuples and lists, none in a cycle
    (reference counting frees them): the cycle collector's passes over them, and over
    everything else alive, took a third of the report's Python time at 1,000,000 customers."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def tiers(session, programme, start=None, end=None):
    """Month by month from `start` to `end` (dates; default: the last 12 months)."""
    end = end or local_date(programme, utcnow())
    start = (start or date(end.year - 1, end.month, 1)).replace(day=1)
    zone = ZoneInfo(programme.timezone)
    months = [(f"{first:%Y-%m}", datetime.combine(first, time(), tzinfo=zone),
               datetime.combine(following, time(), tzinfo=zone)) for first, following in
              periods(programme, start, end, "month")]
    with _no_cycle_collection():
        changes, enrolled = _histories(session, programme, months[-1][2])
        # Those who only ever held the lowest tier: everyone, less the customers who moved.
        starts = sorted(enrolled.values())
        lowest = [everyone - bisect_left(starts, _micros(end))
                  for everyone, (_, _, end) in zip(_everyone_by_month_end(session, months), months)]
        in_micros = [(label, _micros(first), _micros(following)) for label, first, following in months]
        mix = tier_mix_counted(programme, changes, enrolled, in_micros, lowest)
    return {"months": [{**row, "end": (following.date() - timedelta(days=1)).isoformat()}
                       for row, (_, _, following) in zip(mix, months)]}


def rows(result):
    return [{"month": row["month"], **{f"tier_{name}": count for name, count in row["tiers"].items()},
             "up": row["up"], "down": row["down"]} for row in result["months"]]
