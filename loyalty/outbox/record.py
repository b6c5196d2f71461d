"""The transactional outbox: events are written by the transaction that makes the change
they report, so an event is never sent for a change that rolled back and never missing for
one that committed. The worker sends them afterwards (delivery.py).

Per call, in the caller's transaction and under its customer row locks:
1. which endpoints take which types (nothing else happens when none takes any);
2. drop dated events recorded before (their `dedupe_key`);
3. read the customers' balances as the transaction sees them, and build each event's data;
4. take each customer's next sequence numbers (the batch applier numbers its own, number());
5. append the events. The sender gives each one a delivery per enabled endpoint that takes
   its type (delivery.fan_out), so the change's transaction pays one row per event.
"""
from collections import Counter

from sqlalchemy import bindparam, select, text

from loyalty.bulk import append
from loyalty.inputs import fitted_key
from loyalty.models import OutboundEvent, WebhookEndpoint
from loyalty.models.types import utcnow
from loyalty.outbox.catalog import TYPES, as_json, envelope, message_id
from loyalty.services.balances import balances_in

EVENTS = OutboundEvent.__table__
_SEQUENCES = {
    "postgresql": text("""
        UPDATE customers SET event_sequence = customers.event_sequence + v.n
        FROM unnest(CAST(:ids AS text[]), CAST(:counts AS bigint[])) AS v(id, n)
        WHERE customers.id = v.id RETURNING customers.id, customers.event_sequence"""),
    "sqlite": text("UPDATE customers SET event_sequence = event_sequence + :n WHERE id = :id "
                   "RETURNING id, event_sequence"),
}
_SEEN = select(OutboundEvent.dedupe_key).where(OutboundEvent.dedupe_key.in_(bindparam("keys", expanding=True)))


def subscribers(session):
    """Event type -> ids of the endpoints that take it, enabled or not: an event is kept
    while any endpoint takes its type, so one disabled for a while can have what it missed
    replayed; only enabled ones get a delivery."""
    found = {}
    for endpoint_id, events, enabled in session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.enabled)):
        for event_type in events or TYPES:
            found.setdefault(event_type, []).append(endpoint_id if enabled else None)
    return found


def send_from(session, allowed):
    """Let this session record events out, or not (the jobs an import runs over history)."""
    session.info["events_out"] = allowed


def wanted(session, *types):
    """Does any endpoint take one of these types? (A job asks before it reads.)"""
    if not session.info.get("events_out", True):
        return False
    taken = subscribers(session)
    return any(taken.get(event_type) for event_type in types)


def number(notices, accounts):
    """Number the notices of customers whose rows the caller is about to write (the batch
    applier: `accounts` with `event_sequence`, advanced here, so the numbers go out with the
    account's own UPDATE). Answers customer id -> an iterator of its numbers, for record()."""
    counts = Counter(notice.customer_id for notice in notices if notice.customer_id)
    numbers = {}
    for account in accounts:
        if counts.get(account.id):
            first = account.event_sequence + 1
            account.event_sequence += counts[account.id]
            numbers[account.id] = iter(range(first, account.event_sequence + 1))
    return numbers


def record(session, programme, notices, now, taken=None, numbers=None):
    """Write `notices` as events out with their deliveries; answers how many were written.
    `now` is the business time of the change (balances are read as of it); events are dated
    and due by the clock. `taken`: subscribers(), when the caller has read it already;
    `numbers`: number(), when the caller writes the sequence itself (every notice it gives is
    then written: its data is given, not a function of the row)."""
    if not notices or not session.info.get("events_out", True):
        return 0
    taken = subscribers(session) if taken is None else taken
    notices = [notice for notice in notices if taken.get(notice.type)]
    notices = _unseen(session, notices)
    if not notices:
        return 0
    balances = {customer_id: (as_json(balance), row) for customer_id, (balance, row) in balances_in(
        session, programme, {n.customer_id for n in notices if n.customer_id}, now).items()}
    built = []
    for notice in notices:
        balance, row = balances.get(notice.customer_id, ("null", None))
        if notice.customer_id is not None and row is None:
            continue        # no such customer: nothing to report
        data = notice.data(row) if callable(notice.data) else notice.data
        if data is not None:
            built.append((notice, data, balance))
    if not built:
        return 0
    sequences = numbers if numbers is not None else _take_sequences(
        session, Counter(n.customer_id for n, _, _ in built if n.customer_id))
    now, events = utcnow(), []      # sent from now, whatever business time the change was made as of
    for notice, data, balance in built:
        sequence = next(sequences[notice.customer_id]) if notice.customer_id else None
        event_id = message_id()
        events.append({"message_id": event_id, "customer_id": notice.customer_id, "sequence": sequence,
                       "type": notice.type, "created_at": now, "dedupe_key": notice.dedupe_key,
                       "body": envelope(event_id, notice, data, sequence, balance, now)})
    _write(session, events)
    return len(events)


def _unseen(session, notices):
    """Without the dated events recorded before (by a run of the same job on the same day)."""
    for notice in notices:
        if notice.dedupe_key:
            notice.dedupe_key = fitted_key(notice.dedupe_key, OutboundEvent.dedupe_key)
    keys = {notice.dedupe_key for notice in notices if notice.dedupe_key}
    seen = set(session.execute(_SEEN, {"keys": sorted(keys)}).scalars()) if keys else set()
    kept = []
    for notice in notices:
        if notice.dedupe_key in seen:
            continue
        if notice.dedupe_key:
            seen.add(notice.dedupe_key)
        kept.append(notice)
    return kept


def _take_sequences(session, counts):
    """Customer id -> an iterator of its next sequence numbers (the rows are locked by the caller)."""
    if not counts:
        return {}
    dialect = session.get_bind().dialect.name
    ids = sorted(counts)
    if dialect == "postgresql":
        rows = session.execute(_SEQUENCES[dialect], {"ids": ids, "counts": [counts[i] for i in ids]}).all()
    else:
        rows = [session.execute(_SEQUENCES[dialect], {"id": i, "n": counts[i]}).one() for i in ids]
    return {customer_id: iter(range(last - counts[customer_id] + 1, last + 1)) for customer_id, last in rows}


def _write(session, events):
    """The events, appended (COPY on PostgreSQL). Their deliveries are made by the sender
    (delivery.fan_out), so recording costs the change's transaction one row per event."""
    append(session, EVENTS, events)
