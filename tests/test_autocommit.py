"""The connections loyalty/autocommit.py keeps for its statements on PostgreSQL: closed when
the engine is disposed, replaced when the server drops one, never shared with a fork."""
import os

import psycopg

from loyalty import autocommit
from loyalty.extensions import db
from tests.conftest import migrated_app
from tests.webhooks import post_shop, purchase


def sessions(server, database):
    with psycopg.connect(server.url(database).replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as connection:
        return [row[0] for row in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,))]


def kept(app):
    with app.app_context():
        return [held.driver.pgconn.backend_pid for held in autocommit._lane(db.engine).idle]


def test_the_kept_connections_close_with_the_engine(postgres_server, app_factory):
    app = migrated_app(app_factory, postgres_server.create_database("lane_dispose"))
    client = app.test_client()
    assert post_shop(client, purchase(order="o-1")).status_code == 202
    assert kept(app) and set(kept(app)) <= set(sessions(postgres_server, "lane_dispose"))
    with app.app_context():
        db.engine.dispose()
    assert kept(app) == [] and sessions(postgres_server, "lane_dispose") == []
    assert post_shop(client, purchase(order="o-2")).status_code == 202       # a new one, as a pool would


def test_a_connection_the_server_dropped_is_a_503_then_replaced(postgres_server, app_factory):
    app = migrated_app(app_factory, postgres_server.create_database("lane_dropped"))
    client = app.test_client()
    assert post_shop(client, purchase(order="o-1")).status_code == 202
    [dropped] = kept(app)
    with psycopg.connect(postgres_server.url("postgres").replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as connection:
        connection.execute("SELECT pg_terminate_backend(%s)", (dropped,))
    refused = post_shop(client, purchase(order="o-2"))
    assert refused.status_code == 503 and refused.get_json()["error"]["code"] == "storage_unavailable"
    assert "Retry-After" in refused.headers
    assert post_shop(client, purchase(order="o-2")).status_code == 202     # the sender's retry is stored
    assert dropped not in kept(app) and len(kept(app)) == 1


def test_a_forked_process_opens_its_own_and_leaves_the_parents_alone(postgres_server, app_factory):
    app = migrated_app(app_factory, postgres_server.create_database("lane_fork"))
    client = app.test_client()
    assert post_shop(client, purchase(order="o-1")).status_code == 202
    parents = kept(app)
    child = os.fork()
    if child == 0:      # the child: its own connection; at exit the parent's must still work
        try:
            ok = post_shop(app.test_client(), purchase(order="o-child", event_id="evt-child")).status_code == 202 and \
                kept(app) != parents
            with app.app_context():
                db.engine.dispose()     # closes the child's own, not the parent's
        finally:
            os._exit(0 if ok else 1)
    assert os.waitpid(child, 0)[1] == 0
    assert kept(app) == parents
    assert post_shop(client, purchase(order="o-2")).status_code == 202      # on the parent's same connection
    assert kept(app) == parents
