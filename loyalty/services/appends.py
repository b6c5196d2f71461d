"""The rows a transaction appends (orders, timeline events, ledger entries), written with one
Core INSERT per table, not through the ORM's unit of work, which cost a webhook a quarter of
its CPU (bench/history.md).

The rows are mapped objects kept out of the session: code builds and reads them as usual
and `add`s them here. `write` inserts what is queued, orders first (the others name them).
Queued rows are written wherever the session would autoflush (before an ORM query, unless
inside `no_autoflush`) and before every commit; a rollback drops them. A queued row is
final once written: changes made to the object afterwards are not saved (reload it).
"""
from sqlalchemy import event, inspect, insert
from sqlalchemy.orm import Session

from loyalty.extensions import db
from loyalty.models import LedgerEntry, Order, TimelineEvent

_QUEUE = "loyalty.appends"
_TABLES = (Order, TimelineEvent, LedgerEntry)      # in foreign-key order


def add(row):
    """Queue `row` with this transaction (begun now if need be, so its rollback drops it)."""
    session = db.session()
    session.connection()
    session.info.setdefault(_QUEUE, []).append(row)
    return row


def write(session=None, ids=False):
    """Insert the queued rows; with `ids` (or for orders, always) read back their ids."""
    session = session or db.session()
    rows = session.info.pop(_QUEUE, None)
    for model in _TABLES if rows else ():
        statement = insert(model.__table__)
        if ids or model is Order:
            statement = statement.returning(model.__table__.c.id, sort_by_parameter_order=True)
        batches = {}      # rows that set the same columns go in one statement
        for row in rows:
            if type(row) is model:
                values = _values(row)
                batches.setdefault(tuple(values), []).append((row, values))
        for batch in batches.values():
            result = session.connection().execute(statement, [values for _, values in batch])
            if result.returns_rows:
                for (row, _), (row_id,) in zip(batch, result.all()):
                    row.id = row_id


def _values(row):
    """The row's column values; None for a column with a default leaves it to the default."""
    values = {}
    for attribute in inspect(type(row)).column_attrs:
        column = attribute.columns[0]
        value = getattr(row, attribute.key)
        if attribute.key == "order_id" and value is None and row.order is not None:
            value = row.order.id
        if value is None and (column.primary_key or column.default is not None):
            continue
        values[column.key] = value
    return values


@event.listens_for(Session, "before_commit")
def _write_before_commit(session):
    write(session)


@event.listens_for(Session, "do_orm_execute")
def _write_before_queries(orm_execute_state):
    session = orm_execute_state.session
    if session.autoflush and _QUEUE in session.info:
        write(session)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session, previous):
    if previous.parent is None:       # the transaction itself, not a savepoint in it
        session.info.pop(_QUEUE, None)
