"""`loyalty report NAME [--from DATE] [--to DATE] [--period day|month] [--format table|csv|json]`
and the same under `/v1/admin/reports/NAME` (admin scope)."""
import csv
import io
import json
from contextlib import contextmanager

import click
from sqlalchemy import text
from flask.cli import with_appcontext

from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.programme import current_programme
from loyalty.reports.accounting import accounting
from loyalty.reports.cost import cost, rows as cost_rows
from loyalty.reports.customers import customers, rows as customer_rows
from loyalty.reports.liability import liability
from loyalty.reports.tiers import rows as tier_rows, tiers

NAMES = ("accounting", "liability", "customers", "tiers", "cost")


@contextmanager
def snapshot(session):
    """Every read of a report in one snapshot, so its numbers agree with each other."""
    session.commit()        # whatever the request did before (authentication) is its own
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        # A report sums millions of rows once: room to hash and sort them in memory, and no
        # JIT compilation (it costs more than it saves on these plans).
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        session.execute(text("SET LOCAL jit = off"))
    else:
        connection = session.connection()
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN")
    try:
        yield session
    finally:
        session.rollback()


def report(name, start=None, end=None, by="month", churn_days=180):
    session, programme = db.session, current_programme()
    with snapshot(session):
        if name == "accounting":
            return accounting(session, programme, start, end, by)
        if name == "liability":
            return liability(session, programme)
        if name == "customers":
            return customers(session, programme, end, churn_days)
        if name == "tiers":
            return tiers(session, programme, start, end)
        if name == "cost":
            return cost(session, programme, start, end)
    raise LoyaltyError(404, "not_found", f"No report called {name!r}; there are: {', '.join(NAMES)}.")


def rows_of(name, result):
    """The report as rows of flat cells (table and CSV)."""
    if name == "accounting":
        return result["periods"]
    if name == "customers":
        return customer_rows(result)
    if name == "tiers":
        return tier_rows(result)
    if name == "cost":
        return cost_rows(result)
    flat = {}
    for key, value in result.items():
        if isinstance(value, dict):
            flat.update({f"{key}_{inner}": item for inner, item in value.items()})
        else:
            flat[key] = value
    return [flat]


def as_csv(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def as_table(rows):
    if not rows:
        return ""
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(row[c])) for row in rows)) for c in columns}
    lines = ["  ".join(c.rjust(widths[c]) for c in columns)]
    lines += ["  ".join(str(row[c]).rjust(widths[c]) for c in columns) for row in rows]
    return "\n".join(lines)


@click.command("report")
@click.argument("name", type=click.Choice(NAMES))
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: this month's first).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (default: today).")
@click.option("--period", "by", type=click.Choice(("day", "month")), default="month", show_default=True)
@click.option("--format", "fmt", type=click.Choice(("table", "csv", "json")), default="table", show_default=True)
@click.option("--churn-days", default=180, show_default=True, type=click.IntRange(1, 3650),
              help="customers: churned after this many days without a purchase.")
@with_appcontext
def report_command(name, start, end, by, fmt, churn_days):
    """Points accounting by period, the points liability, customers (retention, lifetime
    value), the tier mix by month, or the cost of discounts and redemptions by tier, from the
    ledger and the orders. customers is as of --to (default: today)."""
    try:
        result = report(name, start.date() if start else None, end.date() if end else None, by, churn_days)
    except LoyaltyError as error:
        raise click.ClickException(error.message) from None
    if fmt == "json":
        click.echo(json.dumps(result))
    elif fmt == "csv":
        click.echo(as_csv(rows_of(name, result)), nl=False)
    else:
        click.echo(as_table(rows_of(name, result)))


def init_app(app):
    app.cli.add_command(report_command)
