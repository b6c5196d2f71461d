"""`loyalty endpoints ...` and `loyalty deliveries ...`: events out from the command line,
the same as the admin API (api.md, "Events out: endpoints")."""
import functools
import json

import click
from flask.cli import with_appcontext

from loyalty.errors import LoyaltyError
from loyalty.inputs import CommandLineText
from loyalty.jobs import parse_now
from loyalty.models import WebhookEndpoint
from loyalty.models.outbox import DELIVERY_STATUSES
from loyalty.outbox import deliveries, endpoints
from loyalty.outbox.catalog import TYPES


def _json(value):
    return json.dumps(value, default=lambda item: item.isoformat())


def _refusals(command):
    """A refusal (a bad URL, an unknown id) is a clear message and exit 1, never a traceback."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except LoyaltyError as error:
            raise click.ClickException(error.message) from None
    return run


def _types(_ctx, _param, value):
    if not value:
        return None
    types = [part.strip() for part in value.split(",") if part.strip()]
    unknown = sorted(set(types) - set(TYPES))
    if unknown:
        raise click.BadParameter(f"unknown types {', '.join(unknown)}; known: {', '.join(TYPES)}")
    return types


@click.group("endpoints", help="Receivers of events out (the shop's email, helpdesk and CRM tools).")
def endpoints_group():
    pass


@endpoints_group.command("add")
@click.argument("url", type=CommandLineText(WebhookEndpoint.url))
@click.option("--events", callback=_types, help="Comma-separated types to send (default: every type).")
@click.option("--description", default="", type=CommandLineText(WebhookEndpoint.description))
@with_appcontext
@_refusals
def add(url, events, description):
    """Register URL; prints its id, then its signing secret alone on the last line (shown once)."""
    endpoint, secret = endpoints.add(url, events, description)
    click.echo(f"endpoint {endpoint.id}")
    click.echo(secret)


@endpoints_group.command("list")
@with_appcontext
def list_endpoints():
    """Every endpoint, one JSON object a line (no secrets)."""
    for endpoint in endpoints.listing():
        click.echo(_json(endpoints.describe(endpoint)))


@endpoints_group.command("disable")
@click.argument("endpoint_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--reason", default="disabled by an admin", type=CommandLineText(WebhookEndpoint.disabled_reason))
@with_appcontext
@_refusals
def disable(endpoint_id, reason):
    """Stop sending to an endpoint; its pending deliveries wait."""
    endpoints.disable(endpoint_id, reason)
    click.echo(f"endpoint {endpoint_id} disabled")


@endpoints_group.command("enable")
@click.argument("endpoint_id", type=click.IntRange(1, 2**31 - 1))
@with_appcontext
@_refusals
def enable(endpoint_id):
    """Send to an endpoint again (replay a time range for what it missed)."""
    endpoints.enable(endpoint_id)
    click.echo(f"endpoint {endpoint_id} enabled")


@endpoints_group.command("remove")
@click.argument("endpoint_id", type=click.IntRange(1, 2**31 - 1))
@with_appcontext
@_refusals
def remove(endpoint_id):
    """Remove an endpoint with its deliveries and their log."""
    endpoints.remove(endpoint_id)
    click.echo(f"endpoint {endpoint_id} removed")


@endpoints_group.command("rotate-secret")
@click.argument("endpoint_id", type=click.IntRange(1, 2**31 - 1))
@with_appcontext
@_refusals
def rotate_secret(endpoint_id):
    """A new signing secret, alone on the last line; the old one keeps signing for 24 hours."""
    endpoint, secret = endpoints.rotate_secret(endpoint_id)
    until = endpoint.previous_secret_until.isoformat()
    click.echo(f"endpoint {endpoint.id}: the previous secret signs too until {until}")
    click.echo(secret)


@click.group("deliveries", help="The delivery log of events out, and replays.")
def deliveries_group():
    pass


@deliveries_group.command("list")
@click.option("--endpoint", type=click.IntRange(1, 2**31 - 1))
@click.option("--status", type=click.Choice(DELIVERY_STATUSES))
@click.option("--type", "event_type", type=click.Choice(TYPES))
@click.option("--since", default=None, help="Only deliveries made at or after this ISO time (with a zone).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100))
@with_appcontext
def list_deliveries(endpoint, status, event_type, since, limit):
    """Newest first, one JSON object a line."""
    found = deliveries.listing(endpoint, status, event_type, parse_now(since) if since else None, limit)
    for item in found["deliveries"]:
        click.echo(_json(item))


@deliveries_group.command("replay")
@click.argument("ids", nargs=-1, type=click.IntRange(1, 2**63 - 1))
@click.option("--since", default=None, help="Replay events created at or after this ISO time...")
@click.option("--until", default=None, help="...and before this one.")
@click.option("--endpoint", type=click.IntRange(1, 2**31 - 1),
              help="Only to this endpoint (default: every enabled one).")
@with_appcontext
@_refusals
def replay(ids, since, until, endpoint):
    """Send deliveries again by id, or every event of a time range; the same `webhook-id`
    each time, so receivers can drop what they have."""
    if ids and (since or until):
        raise click.UsageError("give delivery ids or --since/--until, not both")
    if ids:
        for delivery_id in ids:
            deliveries.replay(delivery_id)
        click.echo(_json({"replayed": len(ids)}))
        return
    if not (since and until):
        raise click.UsageError("give delivery ids, or both --since and --until")
    click.echo(_json(deliveries.replay_range(parse_now(since), parse_now(until), endpoint)))


def init_app(app):
    app.cli.add_command(endpoints_group)
    app.cli.add_command(deliveries_group)
