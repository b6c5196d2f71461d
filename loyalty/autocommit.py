"""Single statements of the hottest paths, straight on the driver in autocommit: the reads
of balance, quote and history, and the one INSERT that records a webhook.

On PostgreSQL a statement is compiled once per process and run on a pooled driver
connection in autocommit: one statement with its own snapshot (READ COMMITTED, as inside a
transaction), no BEGIN/ROLLBACK round trips, and none of the Session and Connection
bookkeeping, which cost more CPU than the query (bench/history.md, round 3: one statement
took 450 us of CPU through the session, 157-225 us this way). The columns' types still
convert what comes back. Parameters go to the driver as given: plain values only (no bind
conversions). Elsewhere (SQLite) the statement runs through the session.

Only for a statement that stands alone: it sees what is committed, not the session's work,
and what it writes is committed when it returns.
"""
from collections import namedtuple

from sqlalchemy.exc import DBAPIError

from loyalty.extensions import core, db

_PLANS = {}


class _Plan:
    def __init__(self, statement, dialect):
        self.statement, self.compiled = statement, statement.compile(dialect=dialect)
        columns = list(statement.selected_columns)
        self.row = namedtuple("Row", [column.key for column in columns])
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        self.processors = processors if any(processors) else None

    def convert(self, found):
        if self.processors is None:
            return list(map(self.row._make, found))
        return [self.row(*[convert(value) if convert else value for convert, value in zip(self.processors, values)])
                for values in found]


def rows(statement, parameters):
    """The rows of `statement` (a module-level Core statement returning rows), by column key."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return core(statement, parameters).all()
    plan = _PLANS.get(id(statement))
    if plan is None or plan.statement is not statement:
        plan = _PLANS[id(statement)] = _Plan(statement, engine.dialect)
    return plan.convert(_fetch(engine, plan.compiled, parameters))


def first(statement, parameters):
    found = rows(statement, parameters)
    return found[0] if found else None


def _fetch(engine, compiled, parameters):
    dbapi_error, pooled = engine.dialect.loaded_dbapi.Error, None
    try:
        pooled = engine.raw_connection()
        driver = pooled.driver_connection
        driver.autocommit = True
        try:
            with driver.cursor() as cursor:
                cursor.execute(compiled.string, compiled.construct_params(parameters))
                return cursor.fetchall()
        finally:
            if not driver.broken:
                driver.autocommit = False     # back in the pool as the session expects it
    except dbapi_error as error:
        lost = pooled is not None and engine.dialect.is_disconnect(error, pooled.dbapi_connection, None)
        if lost:
            pooled.invalidate(error)      # the pool opens a new connection next time
        raise DBAPIError.instance(None, None, error, dbapi_error, connection_invalidated=lost,
                                  dialect=engine.dialect) from None
    finally:
        if pooled is not None:
            pooled.close()
