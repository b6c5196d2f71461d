"""Single statements of the hottest paths, straight on the driver in autocommit: the reads
of balance, quote and history, and the one INSERT that records a webhook.

On PostgreSQL a statement is compiled once per process and run in autocommit on a driver
connection kept for these statements (`_Lane`): one statement with its own snapshot (READ
COMMITTED, as inside a transaction), no BEGIN/ROLLBACK round trips, and none of the
Session and Connection bookkeeping, which cost more CPU than the query (bench/history.md, round 3: one statement
took 450 us of CPU through the session, 157-225 us this way). The columns' types still
convert what comes back. Parameters go to the driver as given: plain values only (no bind
conversions). Elsewhere (SQLite) the statement runs through the session.

Only for a statement that stands alone: it sees what is committed, not the session's work,
and what it writes is committed when it returns.
"""
import os
import weakref
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
    lane, held = _lane(engine), None
    try:
        held = lane.take(engine)
        held.cursor.execute(compiled.string, compiled.construct_params(parameters))
        found = held.cursor.fetchall()
    except engine.dialect.loaded_dbapi.Error as error:
        lost = held is not None and (held.driver.broken or engine.dialect.is_disconnect(error, held.driver, None))
        if lost:
            lane.drop_idle()        # the others most likely lost the server too, as the pool assumes
        raise DBAPIError.instance(None, None, error, engine.dialect.loaded_dbapi.Error, connection_invalidated=lost,
                                  dialect=engine.dialect) from None
    finally:
        if held is not None:
            lane.give_back(held)
    return found


class _Held:
    """A driver connection of the lane with the cursor it reuses."""

    def __init__(self, driver, generation):
        self.driver, self.cursor, self.generation = driver, driver.cursor(), generation


class _Lane:
    """Driver connections kept in autocommit for one engine's statements here: taken from the
    engine (its URL, connect arguments and connect events) and detached from its pool, so a
    statement costs no pool checkout and checkin, no reset and no autocommit switches (40-60
    us of CPU of 150, bench/history.md round 13). At most the pool's size are kept idle;
    when the engine is disposed they are closed, and one that is in use is closed as it
    comes back."""

    def __init__(self, engine):
        self.pid, self.generation, self.idle = os.getpid(), 0, []
        self.most_idle = getattr(engine.pool, "size", lambda: 5)()
        event.listen(engine, "engine_disposed", lambda _: self.drop_idle())

    def take(self, engine):
        try:
            return self.idle.pop()          # atomic: threads of one process share the lane
        except IndexError:
            pass
        pooled = engine.raw_connection()
        driver = pooled.driver_connection
        pooled.detach()
        try:
            driver.autocommit = True
            return _Held(driver, self.generation)
        except BaseException:
            driver.close()
            raise

    def give_back(self, held):
        if (held.generation != self.generation or held.driver.broken or held.driver.closed
                or len(self.idle) >= self.most_idle):
            held.driver.close()
        else:
            self.idle.append(held)

    def drop_idle(self):
        if self.pid != os.getpid():     # a lane a fork inherited: its connections are the parent's
            return
        self.generation += 1
        while self.idle:
            try:
                self.idle.pop().driver.close()
            except IndexError:      # another thread took the last one meanwhile
                break


_LANES = weakref.WeakKeyDictionary()     # engine -> its lane, gone with the engine
_INHERITED = []     # lanes of the process this one was forked from: never used, never closed here


def _lane(engine):
    lane = _LANES.get(engine)
    if lane is None or lane.pid != os.getpid():
        if lane is not None:
            _INHERITED.append(lane)     # closing would end the parent's sessions on the server
        lane = _LANES[engine] = _Lane(engine)
    return lane
