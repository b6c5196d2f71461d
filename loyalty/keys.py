"""`loyalty keys create|revoke|list`: API keys for shops, support tools and admins.

`create` prints the new key alone on its last line, once: only its hash is stored."""
import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from loyalty.auth import key_hash, new_key
from loyalty.extensions import db
from loyalty.inputs import CommandLineText
from loyalty.models import ApiKey
from loyalty.models.api_key import SCOPES
from loyalty.models.types import utcnow

keys = click.Group("keys", help="Create, revoke and list API keys.")


@keys.command("create")
@click.option("--scope", type=click.Choice(SCOPES), required=True)
@click.option("--name", default="", type=CommandLineText(ApiKey.name), help="Who the key is for (shown in the history of what it does).")
@with_appcontext
def create(scope, name):
    """Create a key; it is printed once, alone on the last line."""
    prefix, key = new_key()
    db.session.add(ApiKey(prefix=prefix, key_hash=key_hash(key), scope=scope, name=name))
    db.session.commit()
    click.echo(f"created {scope} key {prefix}" + (f" for {name}" if name else ""))
    click.echo(key)


@keys.command("revoke")
@click.argument("prefix", type=CommandLineText(ApiKey.prefix))
@with_appcontext
def revoke(prefix):
    """Revoke the key with this prefix (the part after `lk_`). Running workers refuse it
    within LOYALTY_KEY_CACHE_SECONDS (2 s by default)."""
    row = db.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        raise click.ClickException(f"no key with prefix {prefix}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    current_app.extensions["loyalty.keys"].clear()
    click.echo(f"revoked {prefix}")


@keys.command("list")
@with_appcontext
def list_keys():
    """Every key: prefix, scope, name, created, revoked."""
    for row in db.session.scalars(select(ApiKey).order_by(ApiKey.id)):
        revoked = f"revoked {row.revoked_at.isoformat()}" if row.revoked_at else "active"
        click.echo(f"{row.prefix}\t{row.scope}\t{row.name or '-'}\t{row.created_at.isoformat()}\t{revoked}")


def init_app(app):
    app.cli.add_command(keys)
