"""Cost: the standing discounts given and the money points took off orders, against the
net spend of members' purchases, by tier, over a period (rules/cost.py decides). Purchases
count by purchase time, fully refunded ones not at all; redemptions by when they were
made. What held just before each (the customer's previous purchase or refund, and the
newest tier review) is found by index lookups, so the work grows with the period's
purchases, not with the whole history."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from loyalty.errors import LoyaltyError
from loyalty.models import Order, Redemption, TierReview, TimelineEvent
from loyalty.models.types import utcnow
from loyalty.services.balances import money
from rules import local_date
from rules.cost import Before, cost_by_tier

_STEP, _PREVIOUS = aliased(TimelineEvent), aliased(TimelineEvent)


def _newest_step(customer, moment, step_id=None):
    """The id of the customer's last purchase or refund before step `step_id` at `moment`, or
    (no step) at `moment` or earlier."""
    earlier = _PREVIOUS.at <= moment if step_id is None else \
        or_(_PREVIOUS.at < moment, and_(_PREVIOUS.at == moment, _PREVIOUS.id < step_id))
    return (select(_PREVIOUS.id).where(_PREVIOUS.customer_id == customer, earlier)
            .order_by(_PREVIOUS.at.desc(), _PREVIOUS.id.desc()).limit(1).scalar_subquery())


def _newest_review(customer, moment, inclusive=False):
    earlier = TierReview.at <= moment if inclusive else TierReview.at < moment
    return (select(TierReview.id).where(TierReview.customer_id == customer, earlier)
            .order_by(TierReview.at.desc(), TierReview.id.desc()).limit(1).scalar_subquery())


def _with_before(found, *values):
    """`found` (a subquery with `step` and `review` ids) joined to what those rows say."""
    step, review = aliased(TimelineEvent), aliased(TierReview)
    return (select(*values, step.at, step.standing_after["tier"].as_string(),
                   step.standing_after["lifetime_spend"].as_integer(), review.at, review.to_tier)
            .select_from(found).outerjoin(step, step.id == found.c.step).outerjoin(review, review.id == found.c.review))


def _before(row):
    step_at, tier, lifetime, review_at, review_tier = row[-5:]
    return Before(step_at, tier, int(lifetime or 0), review_at, review_tier)


def _purchases(session, since, until):
    found = (select((Order.total - Order.refunded).label("paid"),
                    _newest_step(_STEP.customer_id, _STEP.at, _STEP.id).label("step"),
                    _newest_review(_STEP.customer_id, _STEP.at).label("review"))
             .select_from(_STEP).join(Order, Order.id == _STEP.order_id)
             .where(_STEP.kind == "purchase", _STEP.at >= since, _STEP.at < until, Order.refunded < Order.total)
             .subquery())
    return [(_before(row), int(row[0])) for row in session.execute(_with_before(found, found.c.paid))]


def _redemptions(session, since, until):
    made = Redemption.created_at
    found = (select(Redemption.points, Redemption.amount_off,
                    _newest_step(Redemption.customer_id, made).label("step"),
                    _newest_review(Redemption.customer_id, made, inclusive=True).label("review"))
             .where(made >= since, made < until).subquery())
    return [(_before(row), int(row[0]), int(row[1]))
            for row in session.execute(_with_before(found, found.c.points, found.c.amount_off))]


def _group(programme, total):
    return {"purchases": total.purchases, "members_spend": money(programme, total.spend),
            "discounts_given": money(programme, total.discounts), "redemptions": total.redemptions,
            "points_redeemed": total.points_redeemed, "redeemed_value": money(programme, total.redeemed_value),
            "cost": money(programme, total.cost), "cost_share": round(float(total.cost_share), 6)}


def cost(session, programme, start=None, end=None):
    """{"from", "to", "all", "by_tier"} from `start` to `end` (dates; default: this month so far)."""
    end = end or local_date(programme, utcnow())
    start = start or end.replace(day=1)
    if end < start:
        raise LoyaltyError(422, "invalid_request", "`to` must not be before `from`.")
    zone = ZoneInfo(programme.timezone)
    since, until = datetime.combine(start, time(), tzinfo=zone), datetime.combine(end + timedelta(days=1), time(),
                                                                                  tzinfo=zone)
    tiers, everyone = cost_by_tier(programme, _purchases(session, since, until), _redemptions(session, since, until))
    return {"from": start.isoformat(), "to": end.isoformat(), "all": _group(programme, everyone),
            "by_tier": {name: _group(programme, total) for name, total in tiers.items()}}


def rows(result):
    groups = [("all", result["all"])] + [(f"tier:{name}", found) for name, found in result["by_tier"].items()]
    return [{"group": group, **{key: value["amount"] if isinstance(value, dict) else value
                                for key, value in found.items()}} for group, found in groups]
