import os

from loyalty import create_app
from loyalty.config import database_url, from_environ


def test_default_database_is_a_sqlite_file_in_the_instance_folder():
    assert database_url({}, "/srv/instance") == "sqlite:////srv/instance/loyalty.sqlite"


def test_plain_postgresql_urls_mean_psycopg_3():
    for given in ("postgresql://u@h/db", "postgres://u@h/db"):
        assert database_url({"LOYALTY_DATABASE_URL": given}, "/i") == "postgresql+psycopg://u@h/db"
    explicit = "postgresql+psycopg://u@h/db"
    assert database_url({"LOYALTY_DATABASE_URL": explicit}, "/i") == explicit


def test_secrets_are_read_from_the_environment_and_absent_when_empty():
    config = from_environ({"STRIPE_WEBHOOK_SECRET": "whsec_1", "LOYALTY_WEBHOOK_SECRET": "",
                           "LOYALTY_TOKEN_SECRET": "t"}, "/i")
    assert config["STRIPE_WEBHOOK_SECRET"] == "whsec_1"
    assert config["LOYALTY_WEBHOOK_SECRET"] is None
    assert config["LOYALTY_TOKEN_SECRET"] == "t"


def test_body_limit_is_configurable():
    assert from_environ({"LOYALTY_MAX_BODY_BYTES": "2048"}, "/i")["MAX_CONTENT_LENGTH"] == 2048


def test_the_key_cache_time_is_configurable_and_two_seconds_by_default():
    assert from_environ({}, "/i")["LOYALTY_KEY_CACHE_SECONDS"] == 2
    assert from_environ({"LOYALTY_KEY_CACHE_SECONDS": "0"}, "/i")["LOYALTY_KEY_CACHE_SECONDS"] == 0


def test_create_app_reads_the_environment(monkeypatch, tmp_path):
    url = "sqlite:///" + str(tmp_path / "env.sqlite")
    monkeypatch.setenv("LOYALTY_DATABASE_URL", url)
    monkeypatch.setenv("LOYALTY_WEBHOOK_SECRET", "from-env")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url
    assert app.config["LOYALTY_WEBHOOK_SECRET"] == "from-env"
    assert os.path.isdir(app.instance_path)


def test_test_config_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("LOYALTY_WEBHOOK_SECRET", "from-env")
    app = create_app({"LOYALTY_WEBHOOK_SECRET": "from-test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["LOYALTY_WEBHOOK_SECRET"] == "from-test"
