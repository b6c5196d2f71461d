"""How reads reach the database: one statement for a balance, no transaction around it."""
from sqlalchemy import event

from loyalty.extensions import db
from tests.api import bearer, make_key
from tests.webhooks import post_shop, purchase


def test_balance_reads_run_outside_a_transaction_on_postgresql_and_writes_inside(app, client, runner, backend):
    """A balance is one statement: on PostgreSQL it runs in autocommit (no BEGIN/ROLLBACK
    round trips), and the pooled connection goes back to transactions for the next writer."""
    key = bearer(make_key(runner, "shop"))
    post_shop(client, purchase(customer="c-1", order="o-1", amount=150_000))
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        dbapi = conn.connection.dbapi_connection
        seen.append((statement.split()[0], getattr(dbapi, "autocommit", False) is True))

    with app.app_context():       # not held during the requests: each has its own session
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/v1/customers/c-1/balance", headers=key).status_code == 200   # key read: transaction
        reads = len(seen)
        assert client.get("/v1/customers/c-1/balance", headers=key).status_code == 200   # key cached
        read_alone = seen[reads:]
        post_shop(client, purchase(customer="c-1", order="o-2", amount=1_000))
        writes = seen[reads + len(read_alone):]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [statement for statement, _ in read_alone] == ["SELECT"]
    assert read_alone[0][1] is (backend == "postgresql")
    assert writes and not any(autocommit for _, autocommit in writes)
