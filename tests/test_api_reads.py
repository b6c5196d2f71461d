"""How reads reach the database: one statement for a balance, no transaction around it on
PostgreSQL, and every pooled connection handed back as the session expects it. Observed at
the driver (a tracing cursor, SQLite's trace callback), below SQLAlchemy, because on
PostgreSQL the balance read skips SQLAlchemy's execution layer (loyalty/autocommit.py)."""
import sqlite3

from datetime import date, timedelta

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import event, select

from loyalty.api import schemas
from loyalty.extensions import db
from loyalty.models import Customer, LedgerEntry
from loyalty.models.types import utcnow
from rules import expires_on, load_programme
from tests.api import bearer, make_key
from tests.webhooks import deliver_shop, purchase


def _traced(engine):
    """Statements the driver runs ((first word, autocommit) on PostgreSQL), and whether each
    connection was in autocommit when it went back to the pool."""
    statements, returned = [], []

    class Traced(psycopg.Cursor):
        def execute(self, query, params=None, **options):
            statements.append((str(query).split()[0], self.connection.autocommit))
            return super().execute(query, params, **options)

    def checkout(dbapi_connection, record, proxy):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(lambda sql: statements.append((sql.split()[0], None)))
        else:
            dbapi_connection.cursor_factory = Traced

    def checkin(dbapi_connection, record):
        if dbapi_connection is not None and not isinstance(dbapi_connection, sqlite3.Connection):
            returned.append(dbapi_connection.autocommit)

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    return statements, returned


def test_reads_run_outside_a_transaction_and_writes_stay_transactional(app, client, runner, backend):
    key = bearer(make_key(runner, "shop"))
    deliver_shop(client, purchase(customer="c-1", order="o-1", amount=150_000))
    goodwill = client.post("/v1/support/customers/c-1/adjustments", json={"points": 500, "reason": "late"},
                           headers=bearer(make_key(runner, "support")))
    assert goodwill.status_code == 201             # available points: the balance lists a lot
    with app.app_context():
        engine = db.engine
    engine.dispose()                               # every connection from here on is traced
    statements, returned = _traced(engine)
    assert client.get("/v1/customers/c-1/balance", headers=key).status_code == 200   # key read, then cached
    before = len(statements)
    assert client.get("/v1/customers/c-1/balance", headers=key).get_json()["points"]["expiring"][0]["points"] == 500
    read_alone = statements[before:]
    before = len(statements)
    assert client.get("/v1/customers/c-1/transactions?limit=1", headers=key).status_code == 200
    history = statements[before:]
    assert deliver_shop(client, purchase(customer="c-1", order="o-2", amount=1_000)) == "processed"
    writes = statements[before + len(history):]

    # PostgreSQL: standing, spend window and the newest lots in one statement; SQLite: lots apart
    assert [word for word, _ in read_alone] == ["SELECT"] * (1 if backend == "postgresql" else 2)
    assert [word for word, _ in history] == ["SELECT", "SELECT"]           # the customer, then the page
    if backend == "postgresql":
        assert all(autocommit for _, autocommit in read_alone + history)   # no BEGIN, no ROLLBACK
        assert writes[0] == ("WITH", True)      # the webhook: one statement (insert and notify), committed
        applied = writes[1:]                     # the worker: one transaction
        assert len(applied) > 3 and not any(autocommit for _, autocommit in applied)
        assert returned and not any(returned)      # back in the pool out of autocommit


@pytest.mark.parametrize("held_lots", [30, 55])
def test_expiring_matches_a_plain_reading_of_every_lot(app, client, runner, held_lots):
    """70 lots (two a day, so ties on the date go by entry id), the newest `held_lots` of
    them and a part of the next still held: within the first page of 50 (on PostgreSQL
    worked out by the balance's one statement) or past it (a second page). Compared with a
    plain reading of every lot: newest first until the balance is covered, by expiry date,
    soonest 12."""
    key = bearer(make_key(runner, "support"))
    programme, start = load_programme(), date(2026, 1, 1)
    lots = [(start + timedelta(days=k // 2), 10 + k % 7) for k in range(70)]
    with app.app_context():
        db.session.add(Customer(id="c-lots", points_available=0))
        db.session.flush()
        for on, points in lots:
            db.session.add(LedgerEntry(customer_id="c-lots", kind="adjustment", points=points, status="available",
                                       at=utcnow(), available_on=on, reason="seed"))
        db.session.add(LedgerEntry(customer_id="c-lots", kind="redemption", points=-40, status="available",
                                   at=utcnow(), reason="seed"))      # not a lot
        db.session.commit()
        held = [(entry.id, entry.available_on, entry.points) for entry in db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.customer_id == "c-lots", LedgerEntry.points > 0))]
        newest_first = sorted(held, key=lambda lot: (lot[1], lot[0]), reverse=True)
        available = sum(points for _, _, points in newest_first[:held_lots]) + newest_first[held_lots][2] - 3
        db.session.get(Customer, "c-lots").points_available = available
        db.session.commit()
    groups, remaining = {}, available
    for _, on, points in newest_first:
        taken = min(points, remaining)
        if taken:
            groups[expires_on(programme, on)] = groups.get(expires_on(programme, on), 0) + taken
        remaining -= taken
    expected = [{"points": points, "on": on.isoformat()} for on, points in sorted(groups.items())[:12]]

    body = client.get("/v1/customers/c-lots/balance", headers=key).get_json()
    assert body["points"]["available"] == available
    assert body["points"]["expiring"] == expected
    assert schemas.Balance().dump(schemas.Balance().load(body)) == body        # the documented shape
    assert expected[0]["on"] == expires_on(programme, newest_first[held_lots][1]).isoformat()   # the part-held lot


def test_a_read_on_a_connection_the_server_dropped_answers_503_and_the_next_one_heals(postgres_server, app_factory):
    """PostgreSQL only (the driver path): a pooled connection killed under us is a storage
    outage for that request (503, nothing leaked), is dropped from the pool, and the next
    read and write work."""
    app = app_factory(postgres_server.create_database("dropped_connection"))
    with app.app_context():
        upgrade()
    client = app.test_client()
    key = bearer(make_key(app.test_cli_runner(), "shop"))
    assert deliver_shop(client, purchase(customer="c-1", order="o-1", amount=10_000)) == "processed"
    assert client.get("/v1/customers/c-1/balance", headers=key).status_code == 200
    with psycopg.connect(postgres_server.url("dropped_connection").replace("+psycopg", ""), autocommit=True) as admin:
        killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert killed >= 1
    answers = [client.get("/v1/customers/c-1/balance", headers=key) for _ in range(killed + 1)]
    failed = [answer for answer in answers if answer.status_code != 200]
    assert failed and all(answer.status_code == 503 for answer in failed)
    assert all(answer.get_json()["error"]["code"] == "storage_unavailable" for answer in failed)
    assert "terminat" not in failed[0].get_data(as_text=True)
    assert answers[-1].status_code == 200 and answers[-1].get_json()["points"]["pending"] == 100 + 100
    assert deliver_shop(client, purchase(customer="c-1", order="o-2", amount=10_000)) == "processed"
