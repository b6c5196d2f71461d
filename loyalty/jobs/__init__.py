"""`loyalty jobs run [--now WHEN] [--dry-run] [--yes]`: the scheduled jobs, as of `--now`.

release (pending points whose return window is over become available), then expiry
(available points 365 days after they became available, oldest first), then the tier
review (time decline after the hold period), then the birthday gift (when the programme
gives one: today's birthdays only; an import's run over history skips it, so history
gives no gifts for its past), then the dated events out (birthdays, points
about to expire, tiers a review would lower; only when an endpoint takes them). Each job
works in set-based batches, commits
batch by batch and is idempotent: running it twice, or again after a crash, applies
nothing twice. `--dry-run` computes everything and commits nothing.
"""
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from functools import partial
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from loyalty.cli import UserError
from loyalty.extensions import db
from loyalty.inputs import EARLIEST_YEAR, LATEST_YEAR
from loyalty.jobs import birthday, expiry, notices, release, review
from loyalty.outbox import record as outbox
from loyalty.programme import current_programme
from loyalty.services.customers import begin_write
from rules import local_date

log = logging.getLogger(__name__)
JOBS = {"release": release, "expiry": expiry, "review": review, "birthday": birthday, "notices": notices}
# Jobs an import's run over history skips: a gift is for the day it is given, never a past one.
LIVE_ONLY = {"birthday"}
RUN_LOCK = 0x10_7A17


def parse_now(value):
    if value is None:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("an ISO 8601 date-time with a zone, e.g. 2026-12-01T03:00:00+00:00") from None
    if moment.tzinfo is None:
        raise click.BadParameter("the time needs a zone, e.g. +00:00")
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise click.BadParameter(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment.astimezone(timezone.utc)


FUTURE_SLACK = timedelta(minutes=1)     # clocks differ a little; more than this is a decision
RUN_AT_EXAMPLES = "a date (2026-12-19) or a date-time (2026-12-19T03:00, zone optional: +01:00)"


def run_at(text, programme, real_now=None):
    """The moment of `--now`: a date is the start of that day in the programme's time zone,
    a date-time without a zone is in the programme's time zone (the one its days and
    expiry dates are counted in), one with a zone is taken as given. A bad value is a
    one-line UserError."""
    if text is None:
        return real_now or datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text.strip())     # a date alone reads as its midnight
    except ValueError:
        raise UserError(f"--now: {text!r} is not {RUN_AT_EXAMPLES}") from None
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise UserError(f"--now: the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}, not {moment.year}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(programme.timezone))
    return moment.astimezone(timezone.utc)


def _how_far(delta):
    """A duration as an operator reads it: "19 days", "5 hours", "3 minutes"."""
    for unit, size in (("day", timedelta(days=1)), ("hour", timedelta(hours=1))):
        if delta >= 1.5 * size:
            count = round(delta / size)
            return f"{count} {unit}s"
    count = max(1, round(delta / timedelta(minutes=1)))
    return f"{count} minute" + ("s" if count != 1 else "")


def refuse_future_unless_confirmed(moment, real_now, confirmed, dry_run):
    """A run as of the future commits entries dated then (releases, expiries, reviews ahead
    of time, which no later run undoes): refused unless `--yes`; a dry run commits nothing."""
    if moment > real_now + FUTURE_SLACK and not (confirmed or dry_run):
        raise UserError(f"--now is {_how_far(moment - real_now)} in the future: entries would be dated then; "
                        "add --yes to run anyway (or --dry-run to see what it would do)")


def _add(total, counts):
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value
    return total


def _in_own_transaction(app, job, programme, now, today, events_out, span):
    """One range in a worker thread: its own session, its own transaction."""
    with app.app_context():
        try:
            outbox.send_from(db.session, events_out)
            begin_write()
            counts = job.apply(db.session, programme, now, today, *span)
            db.session.commit()
            return counts
        finally:
            db.session.remove()


def run_all(now, dry_run=False, only=None, size=5000, workers=1, events_out=True):
    """Run the jobs in order; answers {job: counts}. Ranges of one job are disjoint, so with
    `workers` > 1 (PostgreSQL) they run side by side; a dry run is one transaction, rolled back.
    Without `events_out` (an import's run over history) they record no events out and the
    LIVE_ONLY jobs (the birthday gift) do not run."""
    programme, session = current_programme(now, fresh=True), db.session     # the version in force at `now`
    outbox.send_from(session, events_out)
    postgres = session.get_bind().dialect.name == "postgresql"
    guard = _one_run_at_a_time() if postgres else None
    today, results = local_date(programme, now), {}
    parallel = postgres and workers > 1 and not dry_run
    try:
        for name, job in JOBS.items():
            if (only and name not in only) or (not events_out and name in LIVE_ONLY):
                continue
            spans = job.ranges(session, programme, now, today, size)
            total = dict(job.ZERO)
            if parallel:
                session.commit()
                app = current_app._get_current_object()
                with ThreadPoolExecutor(workers) as pool:
                    in_range = partial(_in_own_transaction, app, job, programme, now, today, events_out)
                    for counts in pool.map(in_range, spans):
                        _add(total, counts)
            else:
                for span in spans:
                    begin_write()
                    _add(total, job.apply(session, programme, now, today, *span))
                    if not dry_run:
                        session.commit()
            results[name] = total
            log.info("job %s%s: %s", name, " (dry run)" if dry_run else "", results[name])
        if dry_run:
            session.rollback()
    finally:
        session.rollback()
        outbox.send_from(session, True)
        if guard is not None:    # a pooled connection outlives close(): unlock explicitly
            guard.execute(select(func.pg_advisory_unlock(RUN_LOCK)))
            guard.commit()
            guard.close()
    return results


def _one_run_at_a_time():
    """A connection holding the jobs' advisory lock for the whole run (PostgreSQL)."""
    guard = db.engine.connect()
    if not guard.execute(select(func.pg_try_advisory_lock(RUN_LOCK))).scalar():
        guard.close()
        raise click.ClickException("another `loyalty jobs run` is in progress")
    guard.commit()
    return guard


@click.group("jobs", help="Scheduled jobs: pending release, expiry, tier review, birthday gifts, dated events out.")
def jobs():
    pass


@jobs.command("run")
@click.option("--now", "now_text", default=None, metavar="WHEN",
              help="Run as of this time (default: now): a date (2026-12-19, the start of that day) or a date-time "
                   "(2026-12-19T03:00); without a zone, in the programme's time zone.")
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@click.option("--yes", "confirmed", is_flag=True, help="Run even when --now is in the future.")
@click.option("--only", multiple=True, type=click.Choice(list(JOBS)), help="Run only these jobs.")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16),
              help="Ranges processed side by side (PostgreSQL only).")
@with_appcontext
def run_command(now_text, dry_run, confirmed, only, batch_size, workers):
    """Release, expire, review and give birthday gifts as of --now; prints the counts as JSON."""
    real_now = datetime.now(timezone.utc)
    now = run_at(now_text, current_programme(), real_now)
    refuse_future_unless_confirmed(now, real_now, confirmed, dry_run)
    if not logging.getLogger().handlers:        # cron: counts go to the log as well
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    results = run_all(now, dry_run, set(only), batch_size, workers)
    click.echo(json.dumps({"now": now.isoformat(), "dry_run": dry_run, "jobs": results}))


def init_app(app):
    app.cli.add_command(jobs)
