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
import os
import threading
from collections import namedtuple

from sqlalchemy import event
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
    dbapi_error, held = engine.dialect.loaded_dbapi.Error, None
    try:
        held = _held(engine)
        with held.driver.cursor() as cursor:
            cursor.execute(compiled.string, compiled.construct_params(parameters))
            return cursor.fetchall()
    except dbapi_error as error:
        lost = held is None or held.driver.broken or engine.dialect.is_disconnect(error, held.driver, None)
        if lost:
            _let_go(engine)         # a new connection next time
        raise DBAPIError.instance(None, None, error, dbapi_error, connection_invalidated=lost,
                                  dialect=engine.dialect) from None


# Each thread keeps one driver connection in autocommit for these statements: taken from the
# engine's pool once (so it is made with the engine's settings), then detached from it. A
# checkout and check-in of the pool and two autocommit switches a statement cost about 35 us
# of CPU (bench/history.md, round 12). Let go of when lost, when the engine is disposed, and
# never used across a fork (the process id is part of the key).
_Held = namedtuple("_Held", "pid driver")
_LOCAL = threading.local()


def _held(engine):
    held = getattr(_LOCAL, "held", {}).get(id(engine))
    if held is None or held.pid != os.getpid() or held.driver.closed:
        pooled = engine.raw_connection()
        driver = pooled.driver_connection
        pooled.detach()
        driver.autocommit = True
        if not hasattr(_LOCAL, "held"):
            _LOCAL.held = {}
        held = _LOCAL.held[id(engine)] = _Held(os.getpid(), driver)
        if not event.contains(engine, "engine_disposed", _let_go):
            event.listen(engine, "engine_disposed", _let_go)
    return held


def _let_go(engine):
    """Close this thread's connection for `engine` (an engine disposed of: tests, a fork)."""
    held = getattr(_LOCAL, "held", {}).pop(id(engine), None)
    if held is not None and held.pid == os.getpid():
        try:
            held.driver.close()
        except Exception:       # already gone
            pass
