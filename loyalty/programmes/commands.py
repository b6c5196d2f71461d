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


def _side_by_side(report):
    draft, live = report["draft"], report["live"]
    lines = [f"backtest over {report['days']} days: {report['purchases']} purchases of {report['customers']} customers",
             f"{'':<22} {'live: ' + live['version']:>26} {'draft: ' + draft['version']:>26}"]
    for name, key in (("points issued", "points_issued"), ("points value", "points_value"),
                      ("discount given", "discount_given")):
        shown = [side[key] if key == "points_issued" else f"{side[key]['amount']} {side[key]['currency']}"
                 for side in (live, draft)]
        lines.append(f"{name:<22} {shown[0]:>26} {shown[1]:>26}")
    for tier in dict.fromkeys([*live["tiers"], *draft["tiers"]]):
        lines.append(f"{'customers ' + tier:<22} {live['tiers'].get(tier, 0):>26} {draft['tiers'].get(tier, 0):>26}")
    lines.append(f"moving up {report['moved']['up']}, down {report['moved']['down']} (draft against live)")
    lines.append("most affected: " + ", ".join(f"{row['customer_id']} {row['points_difference']:+d}"
                                               for row in report["most_affected"] if row["points_difference"]))
    return "\n".join(lines)


@programme.command("backtest")
@click.argument("version")
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 3650))
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write each customer's figures under both versions to this CSV file.")
@click.option("--processes", type=click.IntRange(1, 64), default=None,
              help="Slices of the customers replayed side by side (PostgreSQL; default: the cores, at most 4).")
@with_appcontext
@refusals
def backtest_command(version, days, fmt, out, processes):
    """Replay the last --days of purchases and refunds under VERSION and under the live version,
    in memory, and compare: points issued and their value, discount given, tiers at the end,
    customers moving, the most affected. Nothing is written to the ledger."""
    from loyalty.programme import current_programme
    from loyalty.programmes import backtest

    now = utcnow()
    row = store.find(db.session, version)
    report, rows = backtest.backtest(db.session, documents.stored(row.document), current_programme(now, fresh=True),
                                     days, now, processes or backtest.default_processes())
    db.session.rollback()
    if out is not None:
        with out.open("w", encoding="utf-8", newline="") as handle:
            backtest.as_csv(rows, handle)
    click.echo(_json(report) if fmt == "json" else _side_by_side(report))


@programme.command("apply")
@click.option("--dry-run", is_flag=True, help="Count who would move; change nothing.")
@with_appcontext
@refusals
def apply_command(dry_run):
    """Move every customer to the tier the version in force now gives them, at once: up when
    their spend reaches a higher tier, and off a tier the version no longer has. A tier the
    spend no longer reaches because a threshold rose stays until the review. Prints the counts."""
    from loyalty.programme import current_programme
    from loyalty.programmes import apply

    now = utcnow()
    programme = current_programme(now, fresh=True)
    result = apply.apply_now(db.session, programme, now, dry_run)
    row = store.live(db.session, now)
    if not dry_run and row is not None:
        store.record(db.session, row, "applied", actor(), now, customers=result["customers"],
                     changed=result["changed"], moved=result["moved"])
        db.session.commit()
    click.echo(_json(result))
