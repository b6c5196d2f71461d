"""Backtests that run long, asked for through the admin API: recorded as `queued`, run by a
thread of `loyalty worker` (one at a time per worker; several workers share the queue with
FOR UPDATE SKIP LOCKED on PostgreSQL), their report kept. A backtest left `running` by a
worker that died is taken up again after STALE."""
import json
import logging
import threading
from datetime import timedelta

from sqlalchemy import or_, select

from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.models import ProgrammeBacktest
from loyalty.models.types import utcnow
from loyalty.programme import current_programme
from loyalty.programmes import backtest, documents, store

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0
STALE = timedelta(hours=1)


def jsonable(report):
    return json.loads(json.dumps(report, default=lambda value: value.isoformat()))


def request(session, row, days, actor, now):
    job = ProgrammeBacktest(version_id=row.id, days=days, status="queued", requested_by=actor, requested_at=now)
    session.add(job)
    session.flush()
    return job


def find(session, job_id):
    job = session.get(ProgrammeBacktest, job_id)
    if job is None:
        raise LoyaltyError(404, "not_found", "No such backtest.")
    return job


def describe(session, job):
    row = store.find(session, job.version_id)
    return {"id": job.id, "version": row.label, "days": job.days, "status": job.status,
            "requested_by": job.requested_by, "requested_at": job.requested_at, "started_at": job.started_at,
            "finished_at": job.finished_at, "report": job.report, "error": job.error}


def claim(session, now):
    """The next queued backtest (or a stale running one), marked running; None when there is none."""
    query = (select(ProgrammeBacktest).where(or_(
        ProgrammeBacktest.status == "queued",
        (ProgrammeBacktest.status == "running") & (ProgrammeBacktest.started_at < now - STALE)))
        .order_by(ProgrammeBacktest.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job = session.scalar(query)
    if job is not None:
        job.status, job.started_at = "running", now
    session.commit()
    return job


def run_one(session):
    """Run the next queued backtest, if any; answers whether one ran."""
    job = claim(session, utcnow())
    if job is None:
        return False
    try:
        row = store.find(session, job.version_id)
        now = utcnow()
        report, _ = backtest.backtest(session, documents.stored(row.document), current_programme(now, fresh=True),
                                      job.days, now, backtest.default_processes())
        session.rollback()
        job = session.get(ProgrammeBacktest, job.id)
        job.status, job.report, job.finished_at = "done", jsonable(report), utcnow()
    except Exception as error:      # kept, marked failed, visible: never the end of the worker
        log.exception("backtest %s failed", job.id)
        session.rollback()
        job = session.get(ProgrammeBacktest, job.id)
        job.status, job.finished_at = "failed", utcnow()
        job.error = f"The backtest raised {type(error).__name__}; see the worker's log."
    session.commit()
    return True


def run_backtests(app, stopping, once=False):
    """Until `stopping` is set (with `once`: until none is queued), in a thread of its own."""
    with app.app_context():
        session = db.session
        try:
            while not stopping.is_set():
                try:
                    ran = run_one(session)
                except Exception:           # the database away: wait and look again
                    log.warning("backtests: the queue could not be read; retrying")
                    session.remove()
                    ran = False
                if not ran:
                    if once:
                        break
                    stopping.wait(POLL_SECONDS)
        finally:
            session.remove()


def start(app, stopping):
    thread = threading.Thread(target=run_backtests, args=(app, stopping), name="backtests", daemon=True)
    thread.start()
    return thread
