"""The ledger is the truth: `loyalty reconcile` finds any cached balance that strays from it,
and handling a webhook costs the same whatever the customer's history."""
import time

from sqlalchemy import event, update

from loyalty.extensions import db
from loyalty.models import Customer
from tests.webhooks import deliver_shop, purchase, refund


def test_reconcile_passes_when_every_balance_matches_the_ledger(app, client, runner):
    deliver_shop(client, purchase(order="o-1", amount=12_999))
    deliver_shop(client, refund(order="o-1", amount=5_000))
    deliver_shop(client, purchase(customer="c-7", order="o-2", amount=50_000))
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert "2 customers checked, 0 with a difference" in result.output


def test_reconcile_exits_non_zero_and_names_the_customer_on_a_difference(app, client, runner):
    deliver_shop(client, purchase(order="o-1"))
    with app.app_context():
        db.session.execute(update(Customer).where(Customer.id == "c-42").values(points_pending=999))
        db.session.commit()
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 1
    assert "c-42: cached pending/available 999/0, ledger 229/0" in result.output


def count_statements(app, action):
    statements = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def test_a_webhook_costs_the_same_statements_for_a_customer_with_a_long_history(app, client):
    now = int(time.time())

    def history(customer, purchases):
        for i in range(purchases):
            deliver_shop(client, purchase(customer=customer, order=f"{customer}-{i}", amount=1_000,
                                       created=now - 3600 + i))

    history("short", 1)
    history("long", 60)
    short = count_statements(app, lambda: deliver_shop(client, purchase(customer="short", order="s-new", amount=500)))
    long = count_statements(app, lambda: deliver_shop(client, purchase(customer="long", order="l-new", amount=500)))
    assert len(short) == len(long)
    short_refund = count_statements(app, lambda: deliver_shop(client, refund(order="s-new", amount=100)))
    long_refund = count_statements(app, lambda: deliver_shop(client, refund(order="l-new", amount=100)))
    assert len(short_refund) == len(long_refund)
