"""Importing order history through the one write path.

Rows are read and checked a chunk at a time; each chunk is recorded in the inbox as the
shop webhook's events (source `import`, ids from the order and refund ids: a row already
recorded by an earlier run is not recorded again) and applied by the batch applier, as the
worker applies webhooks. Memory holds one chunk. A row the applier refuses (an order id
that belongs to another customer, say) is reported with its line like a row refused on
reading. Interrupted, a re-run records what is missing and applies what is queued: the
end state is the same. At the end the jobs run as of now (release, expiry, tier review),
so points whose dates have passed end released or expired as the jobs would have left them.
"""
import json

from loyalty import inbox
from loyalty.applier import apply_batch
from loyalty.extensions import db
from loyalty.imports import rows as order_rows
from loyalty.jobs import run_all
from loyalty.programme import current_programme

CHUNK_ROWS = 2000
BATCH_SIZE = 1000
KINDS = {"purchase.completed": "purchase", "purchase.refunded": "refund"}


def import_orders(source_rows, report, progress, now, apply_jobs=True):
    """Read, record and apply every row of `source_rows` (files.Row); answers the tally."""
    programme, chunk = current_programme(), []
    for row in source_rows:
        progress.row()
        report.tally.rows += 1
        if row.problem is not None:
            report.refuse(row.line, row.problem)
            continue
        if row.fields is None:          # a row the source says to skip (an unpaid order)
            report.tally.skipped += 1
            continue
        event, why = order_rows.event_of(row.fields, programme, now)
        if why is not None:
            report.refuse(row.line, why)
            continue
        chunk.append((row.line, event))
        if len(chunk) >= CHUNK_ROWS:
            _take(chunk, report, programme)
            chunk = []
    _take(chunk, report, programme)
    if apply_jobs:
        run_all(now)
    return report.tally


def _take(chunk, report, programme):
    """Record a chunk's events, apply everything queued, and account for each row."""
    if not chunk:
        return
    session = db.session
    inbox.record_many(session, [(source, event_id, kind, json.dumps(body, separators=(",", ":")))
                                for _, (source, event_id, kind, body) in chunk])
    while len(apply_batch(session, programme, BATCH_SIZE)) == BATCH_SIZE:
        pass
    found = inbox.outcomes(session, order_rows.SOURCE, {event[1] for _, event in chunk})
    session.rollback()
    for line, (_, event_id, kind, _) in chunk:
        status, code, message = found.get(event_id, ("queued", None, None))
        if status == "failed":
            report.refuse(line, f"{code}: {message}")
        else:       # settled, or still queued because a worker elsewhere holds it: it will be applied
            report.tally.took(KINDS[kind])
