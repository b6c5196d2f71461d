"""The inbox: webhook events as received, queued until `loyalty worker` applies them.

Recording is one statement (insert unless the source and event id are known, and on
PostgreSQL wake a sleeping worker with NOTIFY), committed before the sender hears 2xx. Workers
claim queued events oldest first; on PostgreSQL `FOR UPDATE SKIP LOCKED` lets several
workers share the queue, each event claimed by one. An event's status is written in the
transaction that applies it, so a crash leaves it queued, never half applied.
"""
from datetime import datetime

from sqlalchemy import bindparam, case, func, literal_column, null, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from loyalty import autocommit, logs
from loyalty.extensions import db, one_of
from loyalty.inputs import clip
from loyalty.models import WebhookEvent
from loyalty.models.types import utcnow

CHANNEL = "loyalty_inbox"
# A worker about to sleep on LISTEN holds this advisory lock (shared) until it wakes; an
# event is announced with NOTIFY only while one does. Under load the workers never sleep,
# and a NOTIFY per event cost more than recording it (bench/history.md, round 13).
SLEEPING = 0x6C6F79616C7479     # "loyalty"
EVENTS = WebhookEvent.__table__


def _recording(dialect):
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(WebhookEvent).values(
        source=bindparam("source"), event_id=bindparam("event_id"), type=bindparam("type"),
        payload=bindparam("payload"), received_at=bindparam("received_at"), status=bindparam("status"),
        attempts=literal_column("0")).on_conflict_do_nothing(index_elements=["source", "event_id"])
    if dialect != "postgresql":
        return insert.returning(WebhookEvent.id)
    stored = insert.returning(WebhookEvent.id).cte("stored")
    # Nobody sleeping: the lock is free, and this statement holds it to its commit, so a
    # worker going to sleep waits for the event to be committed and then finds it by its
    # last look at the queue (`unclaimed`); a worker that sleeps already is woken.
    woken = case((func.pg_try_advisory_xact_lock(SLEEPING), null()), else_=func.pg_notify(CHANNEL, ""))
    return select(stored.c.id, woken.label("woken"))


_RECORD = {dialect: _recording(dialect) for dialect in ("postgresql", "sqlite")}


def record(source, event_id, event_type, payload, status="queued"):
    """Store an event once; answers True if it is new, False if this source and id were known."""
    stored = _store(source, event_id, event_type, payload, status)
    if stored and status == "ignored":      # never applied, so the worker will not log it
        logs.ignored(source, event_id, event_type)
    return stored


def _store(source, event_id, event_type, payload, status):
    dialect = db.engine.dialect.name
    parameters = {"source": source, "event_id": event_id, "type": event_type, "payload": payload,
                  "received_at": utcnow(), "status": status}
    if dialect == "postgresql":
        return bool(autocommit.rows(_RECORD[dialect], parameters))
    try:
        stored = db.session.execute(_RECORD[dialect], parameters).first() is not None
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return stored


_RECORD_MANY = {dialect: insert(WebhookEvent).on_conflict_do_nothing(index_elements=["source", "event_id"])
                for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


def record_many(session, events):
    """Store many events at once, each unless its source and id are known (an import: no
    NOTIFY, the importer applies them itself). `events`: (source, event id, type, payload).
    One statement executed for many rows (SQLAlchemy batches them into multi-row VALUES)."""
    if not events:
        return
    now = utcnow()
    session.execute(_RECORD_MANY[session.get_bind().dialect.name],
                    [{"source": source, "event_id": event_id, "type": kind, "payload": payload, "received_at": now,
                      "status": "queued", "attempts": 0} for source, event_id, kind, payload in events])
    session.commit()


def record_applied(session, events, at):
    """Store events, each unless its source and id are known, in the caller's transaction,
    already `processed` (an import records and applies a batch in one transaction: each
    event is written once; the applier writes the outcome of any that ends otherwise).
    `events`: (source, event id, type, payload). Answers {(source, event id): row id} of
    those stored now: one INSERT ... RETURNING (SQLite: multi-row pages of it)."""
    if not events:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_RECORD_APPLIED, {"at": at, **dict(zip(("source", "event_id", "type", "payload"),
                                                                       map(list, zip(*events))))})
    else:
        rows = session.execute(_RECORD_MANY["sqlite"].returning(EVENTS.c.id, EVENTS.c.source, EVENTS.c.event_id), [
            {"source": source, "event_id": event_id, "type": kind, "payload": payload, "received_at": at,
             "status": "processed", "applied_at": at, "attempts": 1} for source, event_id, kind, payload in events])
    return {(source, event_id): row_id for row_id, source, event_id in rows}


# PostgreSQL: one statement text whatever the number of rows (one array a column), so the
# driver converts and prepares it once; a statement of many VALUES rows is new each time.
_RECORD_APPLIED = text("""
    INSERT INTO webhook_events (source, event_id, type, payload, received_at, status, applied_at, attempts)
    SELECT v.source, v.event_id, v.type, v.payload, :at, 'processed', :at, 1
    FROM unnest(CAST(:source AS text[]), CAST(:event_id AS text[]), CAST(:type AS text[]),
                CAST(:payload AS text[])) AS v(source, event_id, type, payload)
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING id, source, event_id""")


def outcomes(session, source, event_ids):
    """event id -> (status, error code, error message) of these events of `source`."""
    rows = session.execute(select(WebhookEvent.event_id, WebhookEvent.status, WebhookEvent.error_code,
                                  WebhookEvent.error_message)
                           .where(WebhookEvent.source == source, one_of(session, WebhookEvent.event_id, event_ids)))
    return {row.event_id: (row.status, row.error_code, row.error_message) for row in rows}


def queued_ids(session, keys):
    """Row ids, oldest first, of the queued events among these (source, event id) pairs."""
    found, by_source = set(), {}
    for source, event_id in keys:
        by_source.setdefault(source, []).append(event_id)
    for source, event_ids in by_source.items():
        found.update(session.execute(select(WebhookEvent.id).where(
            WebhookEvent.status == "queued", WebhookEvent.source == source,
            one_of(session, WebhookEvent.event_id, event_ids))).scalars())
    session.rollback()
    return sorted(found)


def claim(session, limit, ids=None):
    """The oldest queued events (of `ids`, if given), up to `limit`, locked for this transaction
    (PostgreSQL: skipping those another worker holds). SQLite has one writer at a time."""
    query = (select(WebhookEvent.id, WebhookEvent.source, WebhookEvent.event_id, WebhookEvent.type,
                    WebhookEvent.payload, WebhookEvent.received_at)
             .where(WebhookEvent.status == "queued").order_by(WebhookEvent.id).limit(limit))
    if ids is not None:
        query = query.where(WebhookEvent.id.in_(ids))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).all()


# Is any queued event left that no worker holds? A sleeping worker's last look, on its own
# connection in autocommit (the row lock ends with the statement).
UNCLAIMED = "SELECT id FROM webhook_events WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"


def write_outcomes(session, outcomes, at):
    """Record what became of each event: `outcomes` maps event row id -> Outcome. One UPDATE
    per distinct outcome (a batch has a handful: processed, duplicate...), not per event."""
    same = {}
    for row_id, outcome in outcomes.items():
        same.setdefault(outcome, []).append(row_id)
    for outcome, row_ids in same.items():
        session.execute(EVENTS.update().where(one_of(session, EVENTS.c.id, row_ids)).values(
            status=outcome.status, applied_at=None if outcome.status == "failed" else at, error_code=outcome.code,
            error_message=(outcome.message or None) and clip(outcome.message, WebhookEvent.error_message), attempts=EVENTS.c.attempts + 1))


def find(source, event_id):
    return db.session.scalars(select(WebhookEvent).where(WebhookEvent.source == source,
                                                         WebhookEvent.event_id == event_id)).first()


def listing(status=None, since=None, limit=100):
    query = select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(limit)
    if status:
        query = query.where(WebhookEvent.status == status)
    if since:
        query = query.where(WebhookEvent.received_at >= since)
    return db.session.scalars(query).all()


def requeue(ids=(), failed=False):
    """Queue failed events again (after a fix): the given ones (row ids or event ids), or every
    failed one. Only failed events: one that was applied keeps its status, and applying a
    failed one again is safe (it changed nothing the first time). Answers how many."""
    query = update(WebhookEvent).where(WebhookEvent.status == "failed").values(
        status="queued", applied_at=None, error_code=None, error_message=None)
    if not failed:
        texts = [str(i) for i in ids]
        query = query.where(WebhookEvent.event_id.in_(texts)
                            | WebhookEvent.id.in_([int(i) for i in texts if i.isdigit() and len(i) < 18]))
    count = db.session.execute(query).rowcount
    if count and db.engine.dialect.name == "postgresql":
        db.session.execute(select(func.pg_notify(CHANNEL, "")))
    db.session.commit()
    return count


def queue_stats(now=None):
    """How many events wait, and how long the oldest has waited (seconds, or None)."""
    depth, oldest = db.session.execute(select(func.count(), func.min(WebhookEvent.received_at))
                                       .where(WebhookEvent.status == "queued")).one()
    if isinstance(oldest, str):       # SQLite's MIN() loses the column type
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=(now or utcnow()).tzinfo)
    age = None if oldest is None else max(0.0, ((now or utcnow()) - oldest).total_seconds())
    return {"depth": depth, "oldest_age_s": None if age is None else round(age, 3)}
