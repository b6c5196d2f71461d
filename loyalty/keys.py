"""`loyalty keys create|revoke|list`: API keys for shops, support tools and admins.

`create` prints the new key alone on its last line, once: only its hash is stored.
`list` and `create` show a key by its prefix; `revoke` takes that prefix, or the key as
`lk_<prefix>`, or the whole key (what an operator holding a leaked key has to hand)."""
import hmac

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from loyalty.auth import KEY_PREFIX, key_hash, new_key
from loyalty.cli import UserError
from loyalty.extensions import db
from loyalty.inputs import NOT_STORABLE, CommandLineText, length_of, storable
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


MOST_KEY_CHARACTERS = 200      # a whole key is 57; anything far longer is not one


def key_reference(text):
    """(prefix, whole key or None) from what `keys revoke` was given: `3f9a0c11d2`,
    `lk_3f9a0c11d2` or `lk_3f9a0c11d2_<secret>`. A bad value is a one-line UserError."""
    if len(text) > MOST_KEY_CHARACTERS or not storable(text):
        raise UserError(f"PREFIX: {NOT_STORABLE if not storable(text) else 'too long to be a key or its prefix'}")
    prefix, _, secret = text.strip().removeprefix(KEY_PREFIX).partition("_")
    if not prefix or len(prefix) > length_of(ApiKey.prefix):
        raise UserError(f"PREFIX: {text[:20]!r} is not a key prefix as `loyalty keys list` prints it")
    return prefix, (text.strip() if secret else None)


@keys.command("revoke")
@click.argument("given", metavar="PREFIX")
@with_appcontext
def revoke(given):
    """Revoke the key with this PREFIX, as `keys list` prints it (`lk_<prefix>` and the whole
    key are taken too). Running workers refuse it within LOYALTY_KEY_CACHE_SECONDS (2 s by
    default)."""
    prefix, whole = key_reference(given)
    row = db.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        raise UserError(f"no key with prefix {prefix} (`loyalty keys list` shows them)")
    if whole is not None and not hmac.compare_digest(row.key_hash, key_hash(whole)):
        raise UserError(f"the key given is not the key with prefix {prefix}; give the prefix alone to revoke that one")
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
