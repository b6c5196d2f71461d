"""Reading stored state in tests: balances, ledger sums, rows."""
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import Customer, LedgerEntry, Order, WebhookEvent


def customer(app, customer_id):
    with app.app_context():
        row = db.session.get(Customer, customer_id)
        if row is None:
            return None
        return {"pending": row.points_pending, "available": row.points_available, "tier": row.tier,
                "lifetime_spend": row.lifetime_spend, "tier_since": row.tier_since}


def ledger_sum(app, customer_id):
    with app.app_context():
        rows = db.session.execute(select(LedgerEntry.status, func.sum(LedgerEntry.points))
                                  .where(LedgerEntry.customer_id == customer_id).group_by(LedgerEntry.status))
        sums = {status: int(points) for status, points in rows}
        return {"pending": sums.get("pending", 0), "available": sums.get("available", 0)}


def entries(app, customer_id):
    with app.app_context():
        return [(e.kind, e.points, e.status) for e in db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.customer_id == customer_id).order_by(LedgerEntry.id))]


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def events(app):
    with app.app_context():
        return [(e.source, e.event_id, e.status) for e in db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]


def order(app, order_key):
    with app.app_context():
        row = db.session.scalars(select(Order).where(Order.order_key == order_key)).one()
        return {"points": row.points_earned, "fixed": row.fixed_points, "refunded": row.refunded,
                "clawed_back": row.points_clawed_back, "pending": row.points_pending, "customer": row.customer_id}
