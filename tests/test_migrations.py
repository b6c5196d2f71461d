"""The migrations build exactly the schema the models describe, on both backends."""
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from loyalty.extensions import db

TABLES = {"customers", "orders", "ledger_entries", "webhook_events", "api_keys", "spend_buckets", "redemptions",
          "support_actions",
          "timeline_events", "parked_refunds", "webhook_endpoints", "outbound_events", "deliveries",
          "delivery_attempts", "tier_reviews", "admin_sessions", "programme_versions", "programme_audit",
          "programme_backtests",
          "alembic_version"}


@pytest.fixture
def postgres_server_or_none(backend, request):
    return request.getfixturevalue("postgres_server") if backend == "postgresql" else None


def test_autogenerate_finds_no_difference_between_models_and_migrations(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_downgrade_to_base_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        upgrade()
        assert set(sa.inspect(db.engine).get_table_names()) == TABLES


def _loyalty_cli(*args, url):
    env = {**os.environ, "LOYALTY_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-c", "from loyalty.cli import main; main()", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_loyalty_db_upgrade_on_a_fresh_sqlite_file(tmp_path):
    url = "sqlite:///" + str(tmp_path / "fresh.sqlite")
    result = _loyalty_cli("db", "upgrade", url=url)
    assert result.returncode == 0, result.stderr
    assert set(sa.inspect(sa.create_engine(url)).get_table_names()) == TABLES


def test_loyalty_db_upgrade_on_a_fresh_postgresql_database(postgres_server):
    url = postgres_server.create_database("fresh_upgrade")
    result = _loyalty_cli("db", "upgrade", url=url.replace("postgresql+psycopg://", "postgresql://"))
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(url)
    assert set(sa.inspect(engine).get_table_names()) == TABLES
    engine.dispose()


def test_a_stored_time_comes_back_aware_and_in_utc(app):
    from datetime import datetime, timedelta, timezone

    from loyalty.models import WebhookEvent

    paris = timezone(timedelta(hours=1))
    with app.app_context():
        db.session.add(WebhookEvent(source="shop", event_id="e1", type="t", payload="{}",
                                    status="processed", received_at=datetime(2026, 1, 1, 12, tzinfo=paris)))
        db.session.commit()
        db.session.expire_all()
        stored = db.session.scalars(sa.select(WebhookEvent)).one().received_at
    assert stored == datetime(2026, 1, 1, 11, tzinfo=timezone.utc)
    assert stored.utcoffset() == timedelta(0)


def test_a_naive_time_is_refused_rather_than_guessed(app):
    from datetime import datetime

    import pytest

    from loyalty.models import WebhookEvent

    with app.app_context():
        db.session.add(WebhookEvent(source="shop", event_id="e1", type="t", payload="{}",
                                    status="processed", received_at=datetime(2026, 1, 1, 12)))
        with pytest.raises(sa.exc.StatementError):
            db.session.commit()
        db.session.rollback()


def test_0006_widens_customer_ids_keeping_every_row_and_reference(backend, postgres_server_or_none, tmp_path,
                                                                   app_factory):
    """An existing database (customers with orders, ledger entries, support actions) comes
    through the rebuild of every table that refers to a customer, and takes ids of 255."""
    if backend == "sqlite":
        url = "sqlite:///" + str(tmp_path / "before_0006.sqlite")
    else:
        url = postgres_server_or_none.create_database("before_0006")
    app = app_factory(url)
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO customers (id, created_at, updated_at, points_available, points_pending, tier, "
                "lifetime_spend) VALUES ('c-1', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', 5, 0, 'standard', 0)")
            connection.exec_driver_sql(
                "INSERT INTO support_actions (customer_id, kind, reason, points, actor, at) "
                "VALUES ('c-1', 'goodwill', 'sorry', 5, 'key:x', '2026-01-01 00:00:00+00')")
            connection.exec_driver_sql(
                "INSERT INTO ledger_entries (customer_id, kind, points, status, at, reason, rules, created_at) "
                "VALUES ('c-1', 'adjustment', 5, 'available', '2026-01-01 00:00:00+00', 'sorry', '[]', "
                "'2026-01-01 00:00:00+00')")
        upgrade()
        long_id = "c" * 255
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO customers (id, created_at, updated_at, points_available, points_pending, tier, "
                f"lifetime_spend) VALUES ('{long_id}', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', 0, 0, "
                "'standard', 0)")
            connection.exec_driver_sql(
                "INSERT INTO support_actions (customer_id, kind, reason, points, actor, at) "
                f"VALUES ('{long_id}', 'goodwill', 'x', 1, 'key:x', '2026-01-01 00:00:00+00')")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT customer_id, reason FROM support_actions ORDER BY id").all() == \
                [("c-1", "sorry"), (long_id, "x")]
            assert connection.exec_driver_sql("SELECT customer_id, points FROM ledger_entries").all() == [("c-1", 5)]
            with pytest.raises(sa.exc.IntegrityError):      # references are still enforced
                connection.exec_driver_sql(
                    "INSERT INTO support_actions (customer_id, kind, reason, points, actor, at) "
                    "VALUES ('nobody', 'goodwill', 'x', 1, 'key:x', '2026-01-01 00:00:00+00')")
        db.engine.dispose()


def test_db_upgrade_stores_the_configured_programme_as_the_first_version(tmp_path):
    url = "sqlite:///" + str(tmp_path / "seeded.sqlite")
    result = _loyalty_cli("db", "upgrade", url=url)
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT label, published_by, effective_from FROM programme_versions")).all()
        audit = connection.execute(sa.text("SELECT action, actor FROM programme_audit")).all()
    engine.dispose()
    assert [(label, by) for label, by, _ in rows] == [("default-2026.1", "db upgrade")]
    assert str(rows[0][2]).startswith("1970-01-01")           # in force from the beginning
    assert audit == [("published", "db upgrade")]
    listed = _loyalty_cli("programme", "list", "--format", "json", url=url)
    assert listed.returncode == 0, listed.stderr
    assert '"status": "live"' in listed.stdout
