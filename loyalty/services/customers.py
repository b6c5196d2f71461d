"""Finding, enrolling and locking customers.

Every write about one customer holds that customer's row lock for its transaction
(SELECT ... FOR UPDATE on PostgreSQL; SQLite writes one transaction at a time), so
parallel webhooks for one customer on several workers queue instead of losing updates.
"""
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.models import Customer
from loyalty.models.types import utcnow


def begin_write():
    """Start a write transaction. On SQLite take the write lock first (BEGIN IMMEDIATE), so
    two writers wait for each other instead of one failing halfway with 'database is locked'."""
    if db.engine.dialect.name == "sqlite":
        connection = db.session.connection()
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock(customer_id):
    """The customer row, locked for this transaction; None if there is no such customer."""
    query = select(Customer).where(Customer.id == customer_id)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    return db.session.scalars(query.execution_options(populate_existing=True)).one_or_none()


def _enrolment(dialect):
    """INSERT a new customer or, if there is one, touch it: either way the row comes back
    locked for this transaction, in one statement."""
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(Customer).values(
        id=bindparam("id"), created_at=bindparam("now"), updated_at=bindparam("now"), points_available=0,
        points_pending=0, tier=bindparam("tier"), lifetime_spend=0)
    return insert.on_conflict_do_update(index_elements=["id"], set_={"id": insert.excluded.id}).returning(Customer)


_ENROLMENT = {dialect: _enrolment(dialect) for dialect in ("postgresql", "sqlite")}


def set_profile(customer, field, value, now):
    """Set one profile field. A birthday that changes (set for the first time included; the
    same birthday again is no change) records when: the birthday gift waits
    `recent_change_days` after it, so a birthday cannot be moved to today for points."""
    if getattr(customer, field) == value:
        return
    setattr(customer, field, value)
    if field == "birthday":
        customer.birthday_set_at = now


def enrol(customer_id, programme, **profile):
    """Create the customer if new (safe against a parallel enrolment), lock it, apply `profile`
    (None leaves a field as it is)."""
    now = utcnow()
    customer = db.session.scalars(_ENROLMENT[db.engine.dialect.name],
                                  {"id": customer_id, "now": now, "tier": programme.lowest_tier.name},
                                  execution_options={"populate_existing": True}).one()
    for field, value in profile.items():
        if value is not None:
            set_profile(customer, field, value, now)
    return customer


def by_stripe_customer(stripe_customer_id):
    return db.session.scalars(select(Customer.id).where(Customer.stripe_customer_id == stripe_customer_id)).first()



def enrol_or_update(programme, customer_id, profile):
    """PUT semantics for a shop: create the customer or update the fields given. Answers
    (customer, created)."""
    begin_write()
    existed = lock(customer_id) is not None
    stripe_id = profile.get("stripe_customer_id")
    if stripe_id:
        holder = by_stripe_customer(stripe_id)
        if holder not in (None, customer_id):
            raise LoyaltyError(409, "stripe_customer_taken", "That Stripe customer belongs to another customer.",
                               {"stripe_customer_id": stripe_id})
    customer = enrol(customer_id, programme)
    now = utcnow()
    for field, value in profile.items():
        set_profile(customer, field, value, now)
    db.session.commit()
    return customer, not existed
