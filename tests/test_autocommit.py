"""The connections loyalty/autocommit.py keeps for its statements on PostgreSQL: closed when
the engine is disposed, replaced when the server drops one, never shared with a fork."""
import os

import psycopg

from loyalty import autocommit
from loyalty.extensions import db
from tests import state
from tests.api import bearer, make_key
from tests.conftest import migrated_app
from tests.webhooks import apply_queued, post_shop, purchase


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


def terminate(server, pid):
    with psycopg.connect(server.url("postgres").replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as connection:
        connection.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_the_server_dropped_is_replaced(postgres_server, app_factory):
    app = migrated_app(app_factory, postgres_server.create_database("lane_dropped"))
    client = app.test_client()
    assert post_shop(client, purchase(order="o-1")).status_code == 202
    [dropped] = kept(app)
    terminate(postgres_server, dropped)
    # The webhook's fast lane fails on it; the view records the event on a new connection.
    second = purchase(order="o-2")
    assert post_shop(client, second).status_code == 202
    assert [(source, event_id) for source, event_id, _ in state.events(app)][1:] == [("shop", second["id"])]
    assert dropped not in kept(app) and len(kept(app)) == 1

    # A read has no second try: one 503 (the client retries), then a new connection.
    assert apply_queued(app) == 2
    key = bearer(make_key(app.test_cli_runner(), "shop"))
    assert client.get("/v1/customers/c-42/balance", headers=key).status_code == 200
    [dropped] = kept(app)
    terminate(postgres_server, dropped)
    refused = client.get("/v1/customers/c-42/balance", headers=key)
    assert refused.status_code == 503 and refused.get_json()["error"]["code"] == "storage_unavailable"
    assert client.get("/v1/customers/c-42/balance", headers=key).status_code == 200
    assert dropped not in kept(app)


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
