"""`loyalty events list|retry`: the recorded webhook events from the command line."""
import json

import click
from flask.cli import with_appcontext

from loyalty import inbox
from loyalty.api.events import as_json
from loyalty.jobs import parse_now
from loyalty.inputs import CommandLineText
from loyalty.models import WebhookEvent
from loyalty.models.webhook_event import STATUSES

events = click.Group("events", help="Recorded webhook events: list them, retry failed ones.")


@events.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only events with this status.")
@click.option("--since", default=None, help="Only events received at or after this ISO time (with a zone).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@with_appcontext
def list_events(status, since, limit):
    """Newest first, one JSON object a line (as GET /v1/events/{source}/{id} answers)."""
    found = inbox.listing(status, parse_now(since) if since else None, limit)
    for event in found:
        click.echo(json.dumps(as_json(event)))


@events.command("retry")
@click.argument("ids", nargs=-1, type=CommandLineText(WebhookEvent.event_id))
@click.option("--failed", "all_failed", is_flag=True, help="Every failed event.")
@with_appcontext
def retry(ids, all_failed):
    """Queue failed events again, by event id (or inbox row id), or every failed one; a worker
    applies them. Only failed events are queued again."""
    if not ids and not all_failed:
        raise click.UsageError("name event ids, or pass --failed")
    count = inbox.requeue(ids, failed=all_failed)
    click.echo(f"{count} failed event{'s' if count != 1 else ''} queued again")


def init_app(app):
    app.cli.add_command(events)
