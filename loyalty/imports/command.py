"""`loyalty import customers|orders FILE` (api.md, "Imports").

Exit 0: every row taken; 3: some rows refused (each in `--report` with its line and
reason); 1: the file could not be read, or a process applying it stopped; 2: a usage
error. The last line printed is a JSON summary: rows taken and refused, and the standing
after (customers per tier, points pending and available, what the outstanding points are
worth).

`--dry-run` runs the same import into a scratch SQLite database made for the run and
thrown away after: every row is read, checked and evaluated by the same code, and
nothing is written to the real database. The scratch database starts empty, so the
figures are those of the file alone (customers already stored are taken as new).
"""
import json
import os
import sys
import tempfile

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.imports import files, shopify
from loyalty.imports.apart import ImportProcessFailed
from loyalty.imports.customers import import_customers
from loyalty.imports.orders import import_orders
from loyalty.imports.report import Progress, Report, Tally
from loyalty.jobs import parse_now
from loyalty.models import Customer
from loyalty.programme import current_programme
from loyalty.programmes.backtest import default_processes
from rules.redemption import points_value

EXIT_REFUSED = 3
PROCESSES_FROM_BYTES = 8 * 1024 * 1024      # below, starting processes costs more than they save


@click.group("import", help="Bring a shop's customers and order history in.")
def imports():
    pass


def _options(formats):
    def decorate(command):
        command = click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True),
                               help="Write refused rows (line, reason) to this CSV file.")(command)
        command = click.option("--dry-run", is_flag=True, help="Read, check and evaluate; write nothing.")(command)
        command = click.option("--format", "file_format", type=click.Choice(formats),
                               help="Default: from the file name (.csv, .jsonl, optionally .gz).")(command)
        return click.argument("path", type=click.Path(exists=True, dir_okay=False))(command)
    return decorate


@imports.command("customers")
@_options(["csv", "jsonl"])
@with_appcontext
def customers_command(path, file_format, dry_run, report_path):
    """Customers: id, email, birthday, stripe_customer_id (all but id optional)."""
    _run(path, file_format, dry_run, report_path, lambda rows, report, progress: import_customers(rows, report, progress))


@imports.command("orders")
@_options(list(files.FORMATS))
@click.option("--customer-map", type=click.Path(exists=True, dir_okay=False),
              help="Shopify: a CSV of email,customer_id; unmapped customers are their email.")
@click.option("--now", "now_text", default=None, help="Import as of this ISO time (default: now).")
@click.option("--processes", type=click.IntRange(1, 16), default=None,
              help="PostgreSQL: processes applying shares of the customers side by side (default: the cores, "
                   "up to 4, for a file of 8 MiB or more; else 1). SQLite and --dry-run: 1.")
@with_appcontext
def orders_command(path, file_format, dry_run, report_path, customer_map, now_text, processes):
    """Purchases and refunds: type, order_id, customer_id, at, amount, currency, refund_id, lines."""
    now = parse_now(now_text)
    if dry_run or db.engine.dialect.name != "postgresql":
        processes = 1
    elif processes is None:
        processes = default_processes() if os.path.getsize(path) >= PROCESSES_FROM_BYTES else 1
    try:
        mapping = shopify.customer_map(customer_map) if file_format == "shopify" else {}
    except files.FileError as error:
        raise click.ClickException(str(error)) from None

    def run(rows, report, progress):
        if file_format == "shopify":
            rows = shopify.order_rows(rows, mapping)
        return import_orders(rows, report, progress, now, processes=processes)
    _run(path, file_format, dry_run, report_path, run)


def _run(path, file_format, dry_run, report_path, run):
    try:
        source = files.Source(path, files.format_of(path, file_format))
    except files.FileError as error:
        raise click.ClickException(str(error)) from None
    report, progress = Report(report_path, Tally()), Progress(source.size, source.position)
    try:
        if dry_run:
            summary = _in_scratch_database(lambda: (run(source.rows(), report, progress), standing())[1])
        else:
            run(source.rows(), report, progress)
            summary = standing()
    except (files.FileError, ImportProcessFailed) as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    finally:
        progress.close()
        report.close()
        source.close()
    click.echo(json.dumps({"dry_run": dry_run, **report.tally.as_dict(), **summary}))
    if report.tally.refused:
        sys.exit(EXIT_REFUSED)


def standing():
    """Customers per tier, points pending and available, and their worth, over every customer."""
    programme = current_programme()
    tiers = dict(db.session.execute(select(Customer.tier, func.count()).group_by(Customer.tier)).all())
    pending, available = db.session.execute(select(func.coalesce(func.sum(Customer.points_pending), 0),
                                                   func.coalesce(func.sum(Customer.points_available), 0))).one()
    db.session.rollback()
    outstanding = points_value(programme, max(int(pending) + int(available), 0))
    return {"customers": sum(tiers.values()), "tiers": tiers,
            "points": {"pending": int(pending), "available": int(available)},
            "outstanding_value": {"amount": outstanding, "currency": programme.currency}}


def _in_scratch_database(work):
    """Run `work` in an app like this one but on a new, migrated SQLite file; throw it away."""
    from loyalty import create_app

    with tempfile.TemporaryDirectory(prefix="loyalty-dry-run-") as folder:
        scratch = create_app({**{key: value for key, value in current_app.config.items()
                                 if key.startswith(("LOYALTY_", "STRIPE_"))},
                              "SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.path.join(folder, "dry-run.sqlite"),
                              "SQLALCHEMY_ENGINE_OPTIONS": {}})
        with scratch.app_context():
            try:
                upgrade()
                return work()
            finally:
                db.session.remove()
                db.engine.dispose()


def init_app(app):
    app.cli.add_command(imports)
