"""Importing order history through the one write path.

Rows are read and checked a chunk at a time; each chunk is recorded in the inbox as the
shop webhook's events (source `import`, ids from the order and refund ids and what the
row says: a row already recorded by an earlier run is not recorded again) and applied by
the batch applier, as the worker applies webhooks. A row the applier refuses (an order id
that belongs to another customer, say) is reported with its line like a row refused on
reading. Interrupted, a re-run records what is missing and applies what is queued: the
end state is the same. At the end the jobs run as of now (release, expiry, tier review),
so points whose dates have passed end released or expired as the jobs would have left them.

Two threads: one reads, checks and records chunks; this one applies them and accounts
for their rows, so reading overlaps the applier's waits on the database. At most two
chunks wait between them: memory stays flat whatever the size of the file.
"""
import json
import queue
import threading
from dataclasses import dataclass, field

from flask import current_app

from loyalty import inbox
from loyalty.applier import apply_batch
from loyalty.extensions import db
from loyalty.imports import rows as order_rows
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
    events: list = field(default_factory=list)         # (line, event id, kind), once recorded


def import_orders(source_rows, report, progress, now, apply_jobs=True):
    """Read, record and apply every row of `source_rows` (files.Row); answers the tally."""
    chunks, stop = queue.Queue(maxsize=2), threading.Event()
    reader = threading.Thread(target=_read_and_record, daemon=True, name="import-reader",
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
    if apply_jobs:
        run_all(now, events_out=False)      # history: nothing to announce
    return report.tally


def _read_and_record(app, source_rows, progress, now, chunks, stop):
    """The reader thread: rows -> checked events, recorded a chunk at a time, until the
    file ends or the applier stops (`stop`)."""
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
            programme, chunk, pending = current_programme(), Chunk(), []
            try:
                for row in source_rows:
                    progress.row()
                    chunk.rows += 1
                    if row.problem is not None:
                        chunk.refusals.append((row.line, row.problem))
                    elif row.fields is None:            # a row the source says to skip (an unpaid order)
                        chunk.skipped += 1
                    else:
                        event, why = order_rows.event_of(row.fields, programme, now)
                        if why is not None:
                            chunk.refusals.append((row.line, why))
                        else:
                            pending.append((row.line, event))
                    if len(pending) >= CHUNK_ROWS:
                        if not hand_over(_record(chunk, pending)):
                            return
                        chunk, pending = Chunk(), []
                if hand_over(_record(chunk, pending)):
                    hand_over(None)
            finally:
                db.session.remove()
    except BaseException as error:      # the file cannot be read, the database is away: the applier raises it
        hand_over(error)


def _record(chunk, pending):
    if pending:
        inbox.record_many(db.session, [(source, event_id, kind, json.dumps(body, separators=(",", ":")))
                                       for _, (source, event_id, kind, body) in pending])
    chunk.events = [(line, event_id, kind) for line, (_, event_id, kind, _) in pending]
    return chunk


def _apply_and_account(chunk, report):
    """Apply everything queued, then account for each row of the chunk."""
    tally = report.tally
    tally.rows += chunk.rows
    tally.skipped += chunk.skipped
    for line, reason in chunk.refusals:
        report.refuse(line, reason)
    if not chunk.events:
        return
    session = db.session
    book = programme_book(fresh=True)       # each purchase under the version in force at its time
    while len(apply_batch(session, book, BATCH_SIZE)) == BATCH_SIZE:
        pass
    found = inbox.outcomes(session, order_rows.SOURCE, {event_id for _, event_id, _ in chunk.events})
    session.rollback()
    for line, event_id, kind in chunk.events:
        status, code, message = found.get(event_id, ("queued", None, None))
        if status == "failed":
            report.refuse(line, f"{code}: {message}")
        else:       # settled, or still queued because a worker elsewhere holds it: it will be applied
            tally.took(KINDS[kind])
