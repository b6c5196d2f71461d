"""Liveness (/health) and readiness (/ready)."""
from pathlib import Path

from flask_migrate import upgrade

from loyalty.extensions import db

ROOT = Path(__file__).resolve().parents[1]


def test_health_answers_ok_with_the_database_reachable(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "reachable", "queue": {"depth": 0, "oldest_age_s": None}}


def test_health_shows_the_queue_depth_and_the_age_of_the_oldest_event(app, client):
    from tests.webhooks import apply_queued, post_shop, purchase
    post_shop(client, purchase(order="o-1")), post_shop(client, purchase(order="o-2"))
    queue = client.get("/health").get_json()["queue"]
    assert queue["depth"] == 2 and queue["oldest_age_s"] >= 0
    apply_queued(app)
    assert client.get("/health").get_json()["queue"] == {"depth": 0, "oldest_age_s": None}


def test_health_answers_503_when_postgresql_is_unreachable(postgres_server, app_factory):
    closed_port = postgres_server.port + 1 if postgres_server.port < 65535 else 1
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/nowhere"
    response = app_factory(url).test_client().get("/health")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    body = response.get_json()
    assert body["error"]["code"] == "storage_unavailable"
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert "SELECT" not in response.get_data(as_text=True)


def test_health_answers_503_when_the_sqlite_file_cannot_be_opened(tmp_path, app_factory):
    url = "sqlite:///" + str(tmp_path / "missing-folder" / "loyalty.sqlite")
    response = app_factory(url).test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "storage_unavailable"


def test_ready_when_the_schema_is_the_codes(client):
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready" and body["schema"] == body["expected"]
    assert body["expected"] == sorted(path.name for path in (ROOT / "migrations" / "versions").glob("0*.py"))[-1][:4]


def test_not_ready_on_a_database_never_migrated_or_a_release_behind(backend, tmp_path, request, app_factory):
    if backend == "sqlite":
        url = "sqlite:///" + str(tmp_path / "empty.sqlite")
    else:
        url = request.getfixturevalue("postgres_server").create_database("never_migrated")
    app = app_factory(url)
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "the database was never migrated: run `loyalty db upgrade`"
    with app.app_context():
        upgrade(revision="0009")
        db.engine.dispose()
    behind = app.test_client().get("/ready")
    assert behind.status_code == 503 and behind.get_json()["schema"] == "0009"
    assert "this code needs" in behind.get_json()["reason"]
    with app.app_context():
        upgrade()
        db.engine.dispose()
    assert app.test_client().get("/ready").status_code == 200


def test_not_ready_when_postgresql_is_unreachable(postgres_server, app_factory):
    closed_port = postgres_server.port + 1 if postgres_server.port < 65535 else 1
    response = app_factory(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/nowhere").test_client().get("/ready")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "storage_unavailable"
