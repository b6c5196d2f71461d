"""Fixtures shared by every test.

`app` and `client` run each test once per backend: an embedded SQLite file and a real
PostgreSQL server that this test run starts itself (tests/postgres.py). Each backend's
database is built by the migrations, not by `create_all`, so every test also runs on the
schema users get.
"""
import os

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from loyalty import create_app
from loyalty.extensions import db
from tests.postgres import PostgresServer

BACKENDS = ("sqlite", "postgresql")

TEST_SECRETS = {
    "STRIPE_WEBHOOK_SECRET": "whsec_test_secret",
    "LOYALTY_WEBHOOK_SECRET": "shop_test_secret",
    "LOYALTY_TOKEN_SECRET": "token_test_secret_" + "0123456789abcdef" * 4,
}


@pytest.fixture(scope="session")
def postgres_server():
    """The test run's own PostgreSQL server, started on first use and stopped at the end."""
    server = PostgresServer().init().start()
    yield server
    server.destroy()


def forget_programme_versions():
    """Leave no programme version behind (the migration stores the default as the first):
    each test's first app stores its own configured programme, as after every test's cleanup."""
    for table in ("programme_backtests", "programme_audit", "programme_versions"):
        db.session.execute(db.metadata.tables[table].delete())
    db.session.commit()


def make_app(database_url, **config):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                       **TEST_SECRETS, **config})


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory):
    """Backend name -> URL of a database brought to the newest migration, made on first use."""
    made = {}

    def get(backend, postgres_server_factory):
        if backend not in made:
            if backend == "sqlite":
                url = "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "loyalty.sqlite")
            else:
                url = postgres_server_factory().create_database("loyalty_test")
            app = make_app(url)
            with app.app_context():
                upgrade()
                forget_programme_versions()
                db.engine.dispose()
            made[backend] = url
        return made[backend]

    return get


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


_engines = {}


def clear_programme_versions(url):
    """No programme version stored: the first app a test makes stores its own programme file
    as the first version (an earlier test's app may have stored another). One engine per
    database for the whole run (its connection is reused from test to test)."""
    engine = _engines.get(url) or _engines.setdefault(url, sa.create_engine(url, poolclass=sa.pool.StaticPool)
                                                      if url.startswith("sqlite") else sa.create_engine(url))
    with engine.begin() as connection:
        for table in ("programme_backtests", "programme_audit", "programme_versions"):
            connection.execute(sa.text(f"DELETE FROM {table}"))


@pytest.fixture
def database_url(backend, migrated_databases, request):
    url = migrated_databases(backend, lambda: request.getfixturevalue("postgres_server"))
    clear_programme_versions(url)
    return url


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    yield app
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        db.engine.dispose()


@pytest.fixture
def app_factory():
    """Make extra apps (other settings, other databases) whose connections are closed afterwards."""
    made = []

    def factory(database_url, **config):
        made.append(make_app(database_url, **config))
        return made[-1]

    yield factory
    for extra in made:
        with extra.app_context():
            db.engine.dispose()


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of the test's own, for tests that stop and start it."""
    server = PostgresServer().init().start()
    yield server
    server.destroy()


def migrated_app(app_factory, url):
    """An app on `url`, its database brought to the newest migration, no connection left open."""
    app = app_factory(url)
    with app.app_context():
        upgrade()
        forget_programme_versions()
        db.engine.dispose()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_backend_counts = {name: {} for name in BACKENDS}


def _backend_of(nodeid):
    params = nodeid.rpartition("[")[2].rstrip("]").split("-") if nodeid.endswith("]") else []
    return next((name for name in BACKENDS if name in params), None)


def pytest_runtest_logreport(report):
    name = _backend_of(report.nodeid)
    if name and (report.when == "call" or report.outcome != "passed"):
        counts = _backend_counts[name]
        counts[report.outcome] = counts.get(report.outcome, 0) + 1


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    """With LOYALTY_REQUIRE_BOTH_BACKENDS set (make test sets it), a backend that ran no test fails the run."""
    for engine in _engines.values():
        engine.dispose()
    missing = [name for name, counts in _backend_counts.items() if not counts.get("passed")]
    if os.environ.get("LOYALTY_REQUIRE_BOTH_BACKENDS") and missing and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    """Say how many tests ran on each backend, so a run that missed one shows it."""
    parts = []
    for name, counts in _backend_counts.items():
        ran = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        parts.append(f"{name}: {ran or 'none ran'}")
    terminalreporter.write_sep("=", "backends: " + "; ".join(parts))
