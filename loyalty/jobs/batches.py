"""What the jobs share: typed binds for raw SQL, keyset ranges of the work, the row locks."""
from sqlalchemy import Date, bindparam, text

from loyalty.models.types import UTCDateTime

NOW = bindparam("now", type_=UTCDateTime)
TODAY = bindparam("today", type_=Date)
CUTOFF = bindparam("cutoff", type_=Date)
IDS = bindparam("ids", expanding=True)


def sql(statement, *binds):
    """A text statement with typed binds, so times are stored exactly as the ORM stores them."""
    return text(statement).bindparams(*binds)


def keyset_ranges(session, next_query, params, start):
    """The (after, upto] id ranges of the work, `size` due rows each, read before any is done."""
    found, after = [], start
    while (upto := session.execute(next_query, {**params, "after": after}).scalar()) is not None:
        found.append((after, upto))
        after = upto
    return found


def lock_customers(session, customer_ids):
    """Take the row locks of these customers in id order (PostgreSQL), as webhooks do."""
    if session.get_bind().dialect.name == "postgresql" and customer_ids:
        session.execute(sql("SELECT id FROM customers WHERE id IN :ids ORDER BY id FOR UPDATE", IDS),
                        {"ids": sorted(customer_ids)})


def lock_customers_where(session, customer_ids_query, params, *binds):
    """Lock, in id order, the customers a batch touches, given by a subquery (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql(f"SELECT id FROM customers WHERE id IN ({customer_ids_query}) ORDER BY id FOR UPDATE",
                            *binds), params)
