"""Tiers: customers per tier at each month's end, and the moves up and down each month
(rules/tier_mix.py). The history is the timeline's snapshots (the tier after each purchase
and refund, by business time) and the reviews' changes (tier_reviews)."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from loyalty.models import Customer, TierReview, TimelineEvent
from loyalty.models.types import utcnow
from loyalty.reports.accounting import periods
from rules import local_date
from rules.tier_mix import tier_mix


def tiers(session, programme, start=None, end=None):
    """Month by month from `start` to `end` (dates; default: the last 12 months)."""
    end = end or local_date(programme, utcnow())
    start = (start or date(end.year - 1, end.month, 1)).replace(day=1)
    zone = ZoneInfo(programme.timezone)
    months = [(f"{first:%Y-%m}", datetime.combine(first, time(), tzinfo=zone),
               datetime.combine(following, time(), tzinfo=zone)) for first, following in
              periods(programme, start, end, "month")]
    until = months[-1][2]
    changes = {}
    steps = select(TimelineEvent.customer_id, TimelineEvent.at, TimelineEvent.standing_after["tier"].as_string())
    reviews = select(TierReview.customer_id, TierReview.at, TierReview.to_tier)
    for customer_id, at, tier in [*session.execute(steps.where(TimelineEvent.at < until)),
                                  *session.execute(reviews.where(TierReview.at < until))]:
        changes.setdefault(customer_id, []).append((at, tier))
    enrolled = dict(session.execute(select(Customer.id, Customer.created_at).where(Customer.created_at < until)).all())
    # A customer is counted from its enrolment or its first purchase, whichever is first
    # (an import enrols customers today with purchases from years ago).
    for customer_id, history in changes.items():
        first = min(at for at, _ in history)
        enrolled[customer_id] = min(enrolled.get(customer_id, first), first)
    mix = tier_mix(programme, changes, enrolled, months)
    return {"months": [{**row, "end": (following.date() - timedelta(days=1)).isoformat()}
                       for row, (_, _, following) in zip(mix, months)]}


def rows(result):
    return [{"month": row["month"], **{f"tier_{name}": count for name, count in row["tiers"].items()},
             "up": row["up"], "down": row["down"]} for row in result["months"]]
