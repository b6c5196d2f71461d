def test_health_answers_ok_with_the_database_reachable(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "reachable"}


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
