"""The migrations build exactly the schema the models describe, on both backends."""
import os
import subprocess
import sys

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from loyalty.extensions import db

TABLES = {"customers", "orders", "ledger_entries", "webhook_events", "api_keys", "spend_buckets", "redemptions",
          "support_actions",
          "timeline_events", "parked_refunds", "alembic_version"}


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
