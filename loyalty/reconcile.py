"""`loyalty reconcile`: recompute every cached balance from the ledger and report any
customer whose cached pending or available points differ (exit status 1)."""
import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import Customer
from loyalty.services.ledger import differences


@click.command("reconcile")
@with_appcontext
def reconcile_command():
    """Check that every cached balance equals the sum of the customer's ledger entries."""
    checked = db.session.scalar(select(func.count()).select_from(Customer))
    found = differences()
    for customer_id, cached, summed in found:
        click.echo(f"{customer_id}: cached pending/available {cached[0]}/{cached[1]}, "
                   f"ledger {summed[0]}/{summed[1]}")
    click.echo(f"{checked} customers checked, {len(found)} with a difference")
    raise SystemExit(1 if found else 0)


def init_app(app):
    app.cli.add_command(reconcile_command)
