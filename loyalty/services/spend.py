"""Spend buckets: one row per customer and day holding that day's net spend, so qualifying
spend is a sum over at most a window's worth of rows, never a scan of every purchase."""
from sqlalchemy import BigInteger, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from loyalty.extensions import core, db
from loyalty.models import Customer, SpendBucket
from rules import local_date, window_start


def window_sum(start, end, customer_id=Customer.id):
    """Net spend of a customer's buckets from `start` to `end` (dates), as a scalar subquery:
    a bigint (PostgreSQL's SUM of bigints is numeric, which the driver gives as a Decimal)."""
    return select(cast(func.coalesce(func.sum(SpendBucket.amount), 0), BigInteger)).where(
        SpendBucket.customer_id == customer_id, SpendBucket.day >= start, SpendBucket.day <= end).scalar_subquery()


_QUALIFYING = select(window_sum(bindparam("start"), bindparam("end"), bindparam("customer_id")))


def qualifying(programme, customer_id, at):
    """Net spend of the purchases in the trailing window as of `at`."""
    return int(core(_QUALIFYING, {"customer_id": customer_id, "start": window_start(programme, at),
                                  "end": local_date(programme, at)}).scalar_one())


def _adding(dialect):
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(SpendBucket)
    return insert.on_conflict_do_update(index_elements=["customer_id", "day"],
                                        set_={"amount": SpendBucket.amount + insert.excluded.amount})


_ADD = {dialect: _adding(dialect) for dialect in ("postgresql", "sqlite")}


def add(programme, customer_id, purchased_at, amount):
    """Add `amount` (negative for a refund) to the day of the purchase."""
    if amount:
        core(_ADD[db.engine.dialect.name], {"customer_id": customer_id, "amount": amount,
                                            "day": local_date(programme, purchased_at)})
