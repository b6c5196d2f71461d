"""What lies ahead for a customer, for the customer's own panel: when pending points become
available, the support response target, until when the spend the next tier needs is
enough, and whether (and with how much more spend) the tier survives the reviews of the
coming days. rules/ decides each; this reads the orders and the spend buckets."""
from sqlalchemy import BigInteger, cast, func, select

from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.models import Customer, Order, SpendBucket
from loyalty.services.balances import manual_priority, money
from loyalty.services.snapshots import standing_of
from rules import downgrade_forecast, local_date, support_flags, window_start
from rules.tiers import spend_counts_until

_PENDING = (select(Order.available_on, cast(func.sum(Order.points_pending), BigInteger))
            .where(Order.points_pending > 0).group_by(Order.available_on).order_by(Order.available_on))


def outlook(programme, customer_id, now):
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise LoyaltyError(404, "not_found", "No such customer.")
    today = local_date(programme, now)
    pending = db.session.execute(_PENDING.where(Order.customer_id == customer_id)).all()
    spend = dict(db.session.execute(select(SpendBucket.day, SpendBucket.amount).where(
        SpendBucket.customer_id == customer_id, SpendBucket.day >= window_start(programme, now),
        SpendBucket.day <= today)).all())
    forecast = downgrade_forecast(programme, standing_of(customer, 0), spend, today)
    higher = [tier for tier in programme.tiers if tier.threshold > programme.tier(customer.tier).threshold]
    until = spend_counts_until(programme, spend, today) if higher else None
    db.session.rollback()
    return {"customer_id": customer_id,
            "pending": [{"points": int(points), "on": on} for on, points in pending if on is not None],
            "response_target_hours": support_flags(programme, customer.tier, manual_priority(customer),
                                                   now).response_target_hours,
            "next_tier_spend_counts_until": until,
            "will_downgrade": None if forecast is None else {
                "on": forecast.on, "to": forecast.to,
                "spend_needed": money(programme, forecast.spend_needed)}}
