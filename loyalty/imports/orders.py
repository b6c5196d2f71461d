"""Importing order history through the one write path.

Rows are read and checked a chunk at a time; each row becomes the shop webhook's event
(source `import`, its id from the order and refund ids and what the row says) and its
command. Each batch of events is recorded and applied by the batch applier in one
transaction (`record_and_apply`): a row already recorded by an earlier run is neither
recorded nor applied again, and each event is written once, already with its outcome.
A row the applier refuses (an order id that belongs to another customer, say) is
reported with its line like a row refused on reading. Interrupted, a re-run records and
applies what is missing: the end state is the same. At the end the jobs run as of now
(release, expiry, tier review), so points whose dates have passed end released or
expired as the jobs would have left them.

Two threads: one reads and checks chunks; this one records and applies them and
accounts for their rows, so reading overlaps the applier's waits on the database. At
most two chunks wait between them: memory stays flat whatever the size of the file.
"""
import json
import queue
import threading
from dataclasses import dataclass, field

from flask import current_app

from loyalty import inbox
from loyalty.applier import record_and_apply
from loyalty.applier.batch import PROCESSED
from loyalty.extensions import db
from loyalty.imports import rows as order_rows
from loyalty.imports.events import command_of
from loyalty.jobs import run_all
from loyalty.programme import current_programme, programme_book

CHUNK_ROWS = 4000
BATCH_SIZE = 2000
KINDS = {"purchase.completed": "purchase", "purchase.refunded": "refund"}


@dataclass
class Chunk:
    rows: int = 0
    skipped: int = 0
    refusals: list = field(default_factory=list)       # (line, reason)
    events: list = field(default_factory=list)         # (line, (source, event id, kind, payload, command))


def import_orders(source_rows, report, progress, now, apply_jobs=True, processes=1):
    """Read, record and apply every row of `source_rows` (files.Row); answers the tally.
    With `processes` > 1 (PostgreSQL), that many processes apply shares of the customers
    side by side (apart.py)."""
    if processes > 1:
        from loyalty.imports.apart import import_apart
        import_apart(source_rows, report, progress, now, processes)
    else:
        _import_here(source_rows, report, progress, now)
    if apply_jobs:
        run_all(now, events_out=False)      # history: nothing to announce
    return report.tally


def _import_here(source_rows, report, progress, now):
    """One process: a reader thread checks chunks of rows, this thread applies them."""
    chunks, stop = queue.Queue(maxsize=2), threading.Event()
    reader = threading.Thread(target=_read, daemon=True, name="import-reader",
                              args=(current_app._get_current_object(), source_rows, progress, now, chunks, stop))
    reader.start()
    try:
        while (chunk := chunks.get()) is not None:
            if isinstance(chunk, BaseException):
                raise chunk
            _apply_and_account(chunk, report)
    finally:        # whatever ended it, the reader stops and lets go of the file before we return
        stop.set()
        while reader.is_alive():
            try:
                chunks.get(timeout=0.1)
            except queue.Empty:
                pass
        reader.join()


def _read(app, source_rows, progress, now, chunks, stop):
    """The reader thread: rows -> checked events and their commands, a chunk at a time,
    until the file ends or the applier stops (`stop`)."""
    def hand_over(item):
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    try:
        with app.app_context():
            programme, chunk = current_programme(), Chunk()
            try:
                for row in source_rows:
                    progress.row()
                    chunk.rows += 1
                    if row.problem is not None:
                        chunk.refusals.append((row.line, row.problem))
                    elif row.fields is None:            # a row the source says to skip (an unpaid order)
                        chunk.skipped += 1
                    else:
                        checked(chunk, row.line, row.fields, programme, now)
                    if len(chunk.events) >= CHUNK_ROWS:
                        if not hand_over(chunk):
                            return
                        chunk = Chunk()
                if hand_over(chunk):
                    hand_over(None)
            finally:
                db.session.remove()
    except BaseException as error:      # the file cannot be read: the applier raises it
        hand_over(error)


def checked(chunk, line, fields, programme, now):
    """Put the row's event in the chunk, or its refusal."""
    event, why = order_rows.event_of(fields, programme, now)
    if why is not None:
        chunk.refusals.append((line, why))
    else:
        chunk.events.append((line, _incoming(event)))


def _incoming(event):
    """(source, event id, type, payload, command): what the applier records and applies."""
    source, event_id, kind, body = event
    return source, event_id, kind, json.dumps(body, separators=(",", ":")), command_of(body)[2]


def _apply_and_account(chunk, report):
    """Record and apply the chunk's events, then account for each row of the chunk."""
    tally = report.tally
    tally.rows += chunk.rows
    tally.skipped += chunk.skipped
    for line, reason in chunk.refusals + settle(db.session, chunk.events, tally.took):
        report.refuse(line, reason)


def settle(session, events, took):
    """Record and apply `events` [(line, incoming)] a batch at a time; `took(kind)` for each
    row taken; answers the rows refused by the applier [(line, reason)]."""
    if not events:
        return []
    found = {}
    book = programme_book(fresh=True)       # each purchase under the version in force at its time
    for start in range(0, len(events), BATCH_SIZE):
        incoming = [event for _, event in events[start:start + BATCH_SIZE]]
        for event in record_and_apply(session, book, incoming):
            outcome = event.outcome or PROCESSED
            found[event.event_id] = (outcome.status, outcome.code, outcome.message)
    known = {event_id for _, (_, event_id, *_) in events} - set(found)
    if known:       # recorded by an earlier run (or twice in this file): as they stand
        found.update(inbox.outcomes(session, order_rows.SOURCE, known))
        session.rollback()
    refused = []
    for line, (_, event_id, kind, _, _) in events:
        status, code, message = found.get(event_id, ("queued", None, None))
        if status == "failed":
            refused.append((line, f"{code}: {message}"))
        else:       # settled, or still queued because a worker elsewhere holds it: it will be applied
            took(KINDS[kind])
    return refused
