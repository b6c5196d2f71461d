"""Callers past the request rate, and repeated failed credentials, get 429 with Retry-After."""
from tests.api import bearer, make_key


def test_a_credential_past_its_rate_gets_429(app, database_url, app_factory):    # `app` cleans up
    app = app_factory(database_url, LOYALTY_RATE_LIMIT="3 per minute")
    client, key = app.test_client(), bearer(make_key(app.test_cli_runner(), "support"))
    statuses = [client.get("/v1/support/customers/nobody", headers=key).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    limited = client.get("/v1/support/customers/nobody", headers=key)
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["error"]["code"] == "rate_limited"
    other = bearer(make_key(app.test_cli_runner(), "support"))
    assert client.get("/v1/support/customers/nobody", headers=other).status_code == 404   # its own budget


def test_repeated_failed_credentials_get_429_even_with_new_guesses(app, database_url, app_factory):
    app = app_factory(database_url, LOYALTY_FAILED_AUTH_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [client.get("/v1/customers/c/balance", headers=bearer(f"lk_guess{i}_x")).status_code for i in range(5)]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
    assert int(client.get("/v1/customers/c/balance", headers=bearer("lk_z_z")).headers["Retry-After"]) > 0
