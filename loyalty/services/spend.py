"""Spend buckets: one row per customer and day holding that day's net spend, so qualifying
spend is a sum over at most a window's worth of rows, never a scan of every purchase.
The batch applier adds to them (loyalty/applier/flush.py)."""
from sqlalchemy import BigInteger, cast, func, select

from loyalty.models import Customer, SpendBucket


def window_sum(start, end, customer_id=Customer.id):
    """Net spend of a customer's buckets from `start` to `end` (dates), as a scalar subquery:
    a bigint (PostgreSQL's SUM of bigints is numeric, which the driver gives as a Decimal)."""
    return select(cast(func.coalesce(func.sum(SpendBucket.amount), 0), BigInteger)).where(
        SpendBucket.customer_id == customer_id, SpendBucket.day >= start, SpendBucket.day <= end).scalar_subquery()
