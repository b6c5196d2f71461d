"""The batch applier: the one write path for purchases and refunds, whoever reports them
(webhooks through the worker, imports, replays).

One unit of work a reader can follow, in one transaction:
1. claim queued events from the inbox and read each stored body into a command (an
   import records its events in the same transaction instead: `record_and_apply`);
2. route them (routing.py): lock their orders and customers, find duplicates, conflicts
   and refunds to park;
3. read the state they need for the whole batch at once (reading.py);
4. evaluate each customer's new steps with `rules/`, in business time, each under the
   programme version in force at its own time (evaluation.py), producing a write plan;
5. flush the plan with multi-row statements (flush.py), each event's outcome with it;
6. record the events out that the plan makes (notices.py, loyalty/outbox), in the same
   transaction.

A crash anywhere before the commit leaves every event queued. An event that makes the
batch fail (a bug, a value the database refuses) is found by applying the batch's events
one at a time: it ends `failed` with its payload kept, and the others are applied.
"""
import logging

from sqlalchemy.exc import DBAPIError, OperationalError

from loyalty import inbox
from loyalty.applier import reading
from loyalty.applier.batch import PROCESSED, Event, Outcome, WritePlan
from loyalty.applier.evaluation import evaluate_customer
from loyalty.applier.flush import flush
from loyalty.applier.notices import batch_notices, failed
from loyalty.applier.routing import route
from loyalty.errors import LoyaltyError
from loyalty.outbox import record as outbox
from loyalty.models.types import utcnow
from loyalty.webhooks.events import read_event
from rules import local_date, window_start

log = logging.getLogger(__name__)


def _read(programme, row):
    event = Event(row.id, row.source, row.event_id, row.type, row.received_at)
    try:
        _, _, event.command = read_event(row.source, row.payload, programme)
    except LoyaltyError as error:
        event.outcome = Outcome("failed", error.code, error.message)
    except (ValueError, RecursionError) as error:
        event.outcome = Outcome("failed", "invalid_event", f"The stored event cannot be read ({type(error).__name__}).")
    if event.command is None and event.outcome is None:
        event.outcome = Outcome("ignored")
    return event


def _window_start(book, moments):
    """The first day any of these moments' qualifying windows reads, each under its version."""
    return min(window_start(book.at(moment), moment) for moment in moments)


def plan_batch(session, book, events, now):
    """Steps 2 to 4: everything the batch writes, as a plan. `book`: the versions in force
    over time (rules/versions.py); each step is evaluated under its own moment's."""
    plan, programme = WritePlan(), book.at(now)
    accounts, steps, stored = route(session, book, events, plan, now)
    plan.tiers_before = {customer_id: account.standing.tier for customer_id, account in accounts.items()}
    in_order, late = {}, {}
    for customer_id, new in steps.items():
        account = accounts[customer_id]
        earliest = min(step.at for step in new)
        (late if account.last_event_at is not None and earliest < account.last_event_at else in_order)[customer_id] = new
    if in_order:
        moments = [step.at for new in in_order.values() for step in new]
        buckets = reading.spend_buckets(session, set(in_order), _window_start(book, moments),
                                        local_date(programme, max(moments)))
        for customer_id, new in in_order.items():
            evaluate_customer(book, accounts[customer_id], new, plan, buckets=buckets[customer_id])
    for customer_id, new in late.items():
        account = accounts[customer_id]
        replay = reading.replay_input(session, book, account, min(step.at for step in new), new, stored)
        evaluate_customer(book, account, new, plan, replay=replay)
    plan.accounts = list(accounts.values())
    for event in events:
        plan.outcomes[event.row_id] = event.outcome
    return plan


def _apply(session, book, events, now, recorded=None):
    """Steps 2 to 6 for `events`. `recorded`: the outcome these events were stored with
    (imports record them already processed), so only the others' outcomes are written."""
    programme = book.at(now)
    plan = plan_batch(session, book, events, now)
    if recorded is not None:
        fresh = {event.row_id for event in events}
        plan.outcomes = {row_id: outcome for row_id, outcome in plan.outcomes.items()
                         if row_id not in fresh or outcome != recorded}
    taken = outbox.subscribers(session)
    notices = batch_notices(programme, plan, events, now, set(taken)) if taken else []
    numbers = outbox.number(notices, plan.accounts)      # the accounts' rows carry the new last numbers
    flush(session, programme, plan, now)
    outbox.record(session, programme, notices, now, taken, numbers)
    return events


def _outage(error):
    """A database that cannot be reached: retry later, never mark events failed for it."""
    return isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated)


def apply_batch(session, book, limit=500):
    """Claim up to `limit` queued events and apply them in one transaction, each purchase under
    the version of `book` in force at its purchase time; answers the events, each with its outcome."""
    now = utcnow()

    def whole():
        rows = inbox.claim(session, limit)
        return _apply(session, book, _events(book.at(now), rows), now) if rows else []
    events = _in_one_transaction(session, whole, f"a batch of at most {limit} events")
    if events is not None:
        return events
    reading.begin(session)
    ids = [row.id for row in inbox.claim(session, limit)]
    session.rollback()
    return _one_at_a_time(session, book, ids, now)


def _in_one_transaction(session, work, what):
    """`work()` in one transaction, committed: answers its events, or None when it failed for
    another reason than an outage (rolled back; the caller applies the events one at a time)."""
    try:
        reading.begin(session)
        events = work()
        session.commit()
        return events
    except Exception as error:
        session.rollback()
        if _outage(error):
            raise
        log.warning("%s failed (%s); applying them one at a time", what, type(error).__name__)
    return None


def record_and_apply(session, book, incoming):
    """Imports: record events and apply the new ones in one transaction, each written once
    (already processed; the outcome written again only when it is another) and each read
    into its command by the importer. `incoming`: [(source, event id, type, payload,
    command)]. Events known before are left as they are. Answers the events recorded now,
    each with its outcome. Should the batch fail, its events are recorded queued and
    applied one at a time, as the worker does."""
    now = utcnow()

    def whole():
        stored = inbox.record_applied(session, [item[:4] for item in incoming], now)
        events = [Event(stored.pop((source, event_id)), source, event_id, kind, now, command=command)
                  for source, event_id, kind, _, command in incoming if (source, event_id) in stored]
        return _apply(session, book, events, now, recorded=PROCESSED)
    events = _in_one_transaction(session, whole, f"a batch of {len(incoming)} recorded events")
    if events is not None:
        return events
    inbox.record_many(session, [item[:4] for item in incoming])
    return _one_at_a_time(session, book, inbox.queued_ids(session, [item[:2] for item in incoming]), now)


def _events(programme, rows):
    return [_read(programme, row) for row in rows]


def _one_at_a_time(session, book, ids, now):
    applied = []
    for row_id in ids:
        try:
            reading.begin(session)
            rows = inbox.claim(session, 1, ids=[row_id])
            applied += _apply(session, book, _events(book.at(now), rows), now) if rows else []
            session.commit()
        except Exception as error:
            session.rollback()
            if _outage(error):
                raise
            log.exception("event %s failed to apply; marked failed", row_id)
            applied += _mark_failed(session, book.at(now), row_id, error, now)
    return applied


def _mark_failed(session, programme, row_id, error, now):
    """Keep the event, failed, with a code and a message that carries no SQL or data."""
    reading.begin(session)
    events = [Event(row.id, row.source, row.event_id, row.type, row.received_at,
                    outcome=Outcome("failed", "apply_error",
                                    f"Applying this event raised {type(error).__name__}; see the worker's log."))
              for row in inbox.claim(session, 1, ids=[row_id])]
    inbox.write_outcomes(session, {event.row_id: event.outcome for event in events}, now)
    outbox.record(session, programme, [failed(event) for event in events if event.source != "import"], now)
    session.commit()
    return events
