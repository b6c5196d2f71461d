"""`loyalty programme draft|publish|list|show|diff|apply|simulate|backtest`: programme
versions from the command line, the same as `/v1/admin/programmes` (api.md, "Programme
versions"). A refusal (an invalid programme, an unknown version) is one line per problem
and exit code 2."""
import functools
import getpass
import json
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask.cli import with_appcontext

from loyalty.cli import UserError
from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.models.types import utcnow
from loyalty.programmes import documents, present, store
from rules import ProgrammeError


def actor():
    try:
        return f"cli:{getpass.getuser()}"[:120]
    except (KeyError, OSError):
        return "cli"


def moment(text, programme, option):
    """An ISO 8601 date or date-time; without a zone, in the programme's time zone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{option}: {text!r} is not an ISO 8601 date-time (2027-01-01T00:00, zone optional)") from None
    if not 1971 <= value.year <= 9998:
        raise UserError(f"{option}: the year must be between 1971 and 9998")
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(programme.timezone))
    return value.astimezone(timezone.utc)


def _json(value):
    return json.dumps(value, default=lambda item: item.isoformat(), ensure_ascii=False)


def refusals(command):
    """A refusal is printed one problem a line (`Error: place: what`), exit code 2."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except LoyaltyError as error:
            db.session.rollback()
            problems = error.details.get("problems") if isinstance(error.details, dict) else None
            raise UserError("\n".join([error.message, *(f"  {p}" for p in problems or ())])) from None
    return run


@click.group("programme", help="Programme versions: draft, publish, compare, simulate, backtest.")
def programme():
    pass


@programme.command("draft")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(documents.FORMATS), default=None,
              help="Default: from the file's suffix (.json is JSON, anything else TOML).")
@with_appcontext
@refusals
def draft(path, fmt):
    """Validate the programme in PATH and store it as a draft; prints its id alone on the last line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot be read ({getattr(error, 'strerror', None) or type(error).__name__})") from None
    fmt = fmt or ("json" if path.suffix.lower() == ".json" else "toml")
    row = store.draft(db.session, text, fmt, actor(), utcnow())
    db.session.commit()
    click.echo(f"drafted version {row.label!r} from {path}")
    click.echo(row.id)


@programme.command("publish")
@click.argument("version")
@click.option("--effective-from", "effective_text", default=None, metavar="WHEN",
              help="When it takes over (default: now): ISO 8601; without a zone, in the programme's time zone.")
@with_appcontext
@refusals
def publish(version, effective_text):
    """Publish draft VERSION (id or label) to take effect at --effective-from."""
    from loyalty.programme import current_programme

    now = utcnow()
    effective_from = moment(effective_text, current_programme(), "--effective-from") if effective_text else None
    row = store.publish(db.session, version, actor(), now, effective_from)
    db.session.commit()
    click.echo(f"published version {row.label!r} (id {row.id}), in force from {row.effective_from.isoformat()}")


@programme.command("list")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table")
@with_appcontext
def list_command(fmt):
    """Every version with its status, then the audit log (newest first)."""
    now, rows = utcnow(), store.published(db.session)
    versions = [present.version(row, rows, now) for row in store.every(db.session)]
    labels = {shown["id"]: shown["version"] for shown in versions}
    audit = [present.audit(entry, labels) for entry in store.history(db.session)]
    if fmt == "json":
        click.echo(_json({"versions": versions, "audit": audit}))
        return
    click.echo(f"{'id':>4}  {'version':<28} {'status':<10} {'effective from':<26} published by")
    for shown in versions:
        when = shown["effective_from"].isoformat() if shown["effective_from"] else "-"
        click.echo(f"{shown['id']:>4}  {shown['version'][:28]:<28} {shown['status']:<10} {when:<26} "
                   f"{shown['published_by'] or '-'}")
    click.echo("")
    for entry in audit:
        click.echo(f"{entry['at'].isoformat()}  {entry['actor']:<24} {entry['action']:<10} {entry['version']}"
                   + (f"  {_json(entry['detail'])}" if entry["detail"] else ""))


@programme.command("show")
@click.argument("version")
@click.option("--format", "fmt", type=click.Choice(("source", "json")), default="source",
              help="source: the text as drafted; json: the version with its document.")
@with_appcontext
@refusals
def show(version, fmt):
    """Print VERSION (id or label)."""
    now, row = utcnow(), store.find(db.session, version)
    shown = present.version(row, store.published(db.session), now, source=True)
    if fmt == "json":
        click.echo(_json(shown))
        return
    click.echo(f"# version {row.label!r} (id {row.id}): {shown['status']}")
    click.echo(row.source.rstrip("\n"))


@programme.command("diff")
@click.argument("version")
@click.argument("other")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table")
@with_appcontext
@refusals
def diff(version, other, fmt):
    """What changes from VERSION to OTHER, place by place."""
    old, new = store.find(db.session, version), store.find(db.session, other)
    changes = documents.diff(old.document, new.document)
    if fmt == "json":
        click.echo(_json({"from": old.label, "to": new.label, "changes": changes}))
        return
    if not changes:
        click.echo(f"{old.label} and {new.label} are the same programme")
    for change in changes:
        click.echo(f"{change['place']}: {_json(change['old'])} -> {_json(change['new'])}")


def init_app(app):
    app.cli.add_command(programme)
