"""`loyalty jobs run [--now ISO] [--dry-run]`: the scheduled jobs, as of `--now`.

release (pending points whose return window is over become available), then expiry
(available points 365 days after they became available, oldest first), then the tier
review (time decline after the hold period). Each job works in set-based batches, commits
batch by batch and is idempotent: running it twice, or again after a crash, applies
nothing twice. `--dry-run` computes everything and commits nothing.
"""
import json
import logging
from datetime import datetime, timezone

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.jobs import expiry, release, review
from loyalty.jobs.batches import Batch
from loyalty.programme import current_programme
from rules import local_date

log = logging.getLogger(__name__)
JOBS = {"release": release.run, "expiry": expiry.run, "review": review.run}
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
    return moment.astimezone(timezone.utc)


def run_all(now, dry_run=False, only=None, size=5000):
    """Run the jobs in order; answers {job: counts}."""
    programme, session = current_programme(), db.session
    if session.get_bind().dialect.name == "postgresql":
        if not session.execute(select(func.pg_try_advisory_lock(RUN_LOCK))).scalar():
            raise click.ClickException("another `loyalty jobs run` is in progress")
        session.commit()
    today, results = local_date(programme, now), {}
    try:
        for name, job in JOBS.items():
            if only and name not in only:
                continue
            results[name] = job(session, programme, Batch(dry_run), now, today, size)
            log.info("job %s%s: %s", name, " (dry run)" if dry_run else "", results[name])
        if dry_run:
            session.rollback()
    finally:
        if session.get_bind().dialect.name == "postgresql":
            session.rollback()
            session.execute(select(func.pg_advisory_unlock(RUN_LOCK)))
            session.commit()
    return results


@click.group("jobs", help="Scheduled jobs: pending release, expiry, tier review.")
def jobs():
    pass


@jobs.command("run")
@click.option("--now", "now_text", default=None, help="Run as of this ISO time (default: now).")
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@click.option("--only", multiple=True, type=click.Choice(list(JOBS)), help="Run only these jobs.")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def run_command(now_text, dry_run, only, batch_size):
    """Release, expire and review as of --now; prints the counts as JSON."""
    now = parse_now(now_text)
    results = run_all(now, dry_run, set(only), batch_size)
    click.echo(json.dumps({"now": now.isoformat(), "dry_run": dry_run, "jobs": results}))


def init_app(app):
    app.cli.add_command(jobs)
