"""Callers past the request rate, and repeated failed credentials, get 429 with Retry-After."""
from limits.storage import storage_from_string

from loyalty.limits import LocalWindows, SharedWindows, rate
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


def test_past_the_failure_budget_a_valid_credential_is_still_served(app, database_url, app_factory):
    """Behind a proxy every client has its address: one client with a stale key must not
    lock out the shops whose keys are good."""
    app = app_factory(database_url, LOYALTY_FAILED_AUTH_LIMIT="3 per minute")
    client, good = app.test_client(), bearer(make_key(app.test_cli_runner(), "support"))
    for _ in range(3):
        assert client.get("/v1/support/customers/nobody", headers=bearer("lk_stale_key")).status_code == 401
    assert client.get("/v1/support/customers/nobody", headers=bearer("lk_stale_key")).status_code == 429
    assert client.get("/v1/support/customers/nobody", headers=good).status_code == 404       # served
    assert client.get("/v1/support/customers/nobody").status_code == 429                      # no credential


def test_behind_trusted_proxies_the_budget_is_per_forwarded_client(app, database_url, app_factory):
    def statuses(client, forwarded_for):
        headers = {**bearer("lk_stale_key"), "X-Forwarded-For": forwarded_for}
        return [client.get("/v1/support/customers/nobody", headers=headers).status_code for _ in range(4)]

    trusting = app_factory(database_url, LOYALTY_FAILED_AUTH_LIMIT="3 per minute", LOYALTY_TRUSTED_PROXIES=1)
    client = trusting.test_client()
    assert statuses(client, "203.0.113.7") == [401, 401, 401, 429]
    assert statuses(client, "203.0.113.8")[0] == 401                         # another client behind the proxy
    # The header is not trusted by default: a client cannot escape its budget by forging it.
    direct = app_factory(database_url, LOYALTY_FAILED_AUTH_LIMIT="3 per minute").test_client()
    assert statuses(direct, "198.51.100.1") == [401, 401, 401, 429]
    assert statuses(direct, "198.51.100.2")[0] == 429


def test_trusted_proxies_must_be_a_small_count():
    import pytest

    from loyalty.config import from_environ
    with pytest.raises(ValueError, match="LOYALTY_TRUSTED_PROXIES"):
        from_environ({"LOYALTY_TRUSTED_PROXIES": "yes"}, "/tmp")
    assert from_environ({"LOYALTY_TRUSTED_PROXIES": "2"}, "/tmp")["LOYALTY_TRUSTED_PROXIES"] == 2


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_local_windows_open_at_the_first_hit_refuse_past_the_amount_and_reopen():
    clock, limit = Clock(), rate("2 per minute")
    windows = LocalWindows(clock)
    assert windows.test(limit, "k") and windows.hit(limit, "k")
    clock.now += 30
    assert windows.hit(limit, "k") and not windows.test(limit, "k")
    assert not windows.hit(limit, "k")
    assert windows.retry_after(limit, "k") == 30            # the window opened at the first hit
    assert windows.hit(limit, "other")                      # every key its own window
    clock.now += 30
    assert windows.test(limit, "k") and windows.hit(limit, "k")
    assert windows.retry_after(limit, "k") == 60


def test_local_windows_sweep_ended_windows_once_the_table_is_full():
    clock, limit = Clock(), rate("1 per second")
    windows = LocalWindows(clock, sweep_at=100)
    for address in range(100):
        windows.hit(limit, "failed-credentials", str(address))
    clock.now += 2
    windows.hit(limit, "failed-credentials", "new")
    assert len(windows.windows) == 1


def test_shared_windows_count_the_same_way_through_the_limits_package():
    """Redis or memcached in production; the package's own memory storage here."""
    limit = rate("2 per minute")
    windows = SharedWindows(storage_from_string("memory://"))
    assert windows.hit(limit, "k") and windows.hit(limit, "k")
    assert not windows.test(limit, "k") and not windows.hit(limit, "k")
    assert 0 < windows.retry_after(limit, "k") <= 60
    assert windows.hit(limit, "other")
