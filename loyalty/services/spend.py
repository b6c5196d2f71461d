"""Spend buckets: one row per customer and day holding that day's net spend, so qualifying
spend is a sum over at most a window's worth of rows, never a scan of every purchase."""
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from loyalty.extensions import db
from loyalty.models import Customer, SpendBucket
from rules import local_date, window_start


def window_sum(start, end, customer_id=Customer.id):
    """Net spend of a customer's buckets from `start` to `end` (dates), as a scalar subquery."""
    return select(func.coalesce(func.sum(SpendBucket.amount), 0)).where(
        SpendBucket.customer_id == customer_id, SpendBucket.day >= start, SpendBucket.day <= end).scalar_subquery()


def qualifying(programme, customer_id, at):
    """Net spend of the purchases in the trailing window as of `at`."""
    return int(db.session.execute(select(window_sum(window_start(programme, at), local_date(programme, at),
                                                    customer_id))).scalar_one())


def add(programme, customer_id, purchased_at, amount):
    """Add `amount` (negative for a refund) to the day of the purchase."""
    if not amount:
        return
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(SpendBucket).values(customer_id=customer_id, day=local_date(programme, purchased_at),
                                           amount=amount)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["customer_id", "day"], set_={"amount": SpendBucket.amount + statement.excluded.amount}))
