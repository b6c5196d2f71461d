"""Batches for the jobs: a keyset cursor, the write locks, and commit-or-not (dry run)."""
from sqlalchemy import Date, bindparam, text

from loyalty.models.types import UTCDateTime
from loyalty.services.customers import begin_write

NOW = bindparam("now", type_=UTCDateTime)
TODAY = bindparam("today", type_=Date)
CUTOFF = bindparam("cutoff", type_=Date)
AVAILABLE_ON = bindparam("available_on", type_=Date)
IDS = bindparam("ids", expanding=True)


def sql(statement, *binds):
    """A text statement with typed binds, so times are stored exactly as the ORM stores them."""
    return text(statement).bindparams(*binds)


class Batch:
    """Walks ids in order, one transaction per batch; a dry run never commits."""

    def __init__(self, dry_run=False):
        self.after, self.dry_run = "", dry_run

    def start(self, session):
        begin_write()

    def done(self, session, last_id):
        self.after = last_id
        if not self.dry_run:
            session.commit()


def lock_customers(session, customer_ids):
    """Take the row locks of these customers in id order (PostgreSQL), as webhooks do."""
    if session.get_bind().dialect.name == "postgresql" and customer_ids:
        session.execute(sql("SELECT id FROM customers WHERE id IN :ids ORDER BY id FOR UPDATE", IDS),
                        {"ids": sorted(customer_ids)})
