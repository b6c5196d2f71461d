"""Credentials: hashed API keys with scopes, customer tokens that see only themselves."""
import base64
import json

import pytest

from loyalty.extensions import db
from loyalty.models import ApiKey
from tests.api import bearer, make_key, token
from tests.conftest import TEST_SECRETS
from tests.webhooks import deliver_shop, purchase


@pytest.fixture
def enrolled(client):
    deliver_shop(client, purchase(customer="c-42", order="o-1"))
    deliver_shop(client, purchase(customer="c-7", order="o-2"))


def balance(client, customer_id, headers):
    return client.get(f"/v1/customers/{customer_id}/balance", headers=headers)


def test_keys_create_prints_the_key_last_and_stores_only_its_hash(app, runner):
    key = make_key(runner, "shop", "web shop")
    assert key.startswith("lk_")
    with app.app_context():
        row = db.session.query(ApiKey).one()
        assert row.scope == "shop" and row.name == "web shop"
        assert key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64


def test_keys_list_and_revoke(app, client, runner, enrolled):
    key = make_key(runner, "support")
    prefix = key[3:].split("_")[0]
    assert prefix in runner.invoke(args=["keys", "list"]).output
    assert balance(client, "c-42", bearer(key)).status_code == 200
    assert runner.invoke(args=["keys", "revoke", prefix]).exit_code == 0
    response = balance(client, "c-42", bearer(key))
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "revoked" in runner.invoke(args=["keys", "list"]).output
    assert runner.invoke(args=["keys", "revoke", "nope"]).exit_code != 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer lk_nope_nope"}, {"Authorization": "Bearer not.a.jwt"}])
def test_missing_or_malformed_credentials_are_401(client, enrolled, headers):
    response = balance(client, "c-42", headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_a_key_with_a_right_prefix_and_wrong_secret_is_401(client, runner, enrolled):
    key = make_key(runner, "shop")
    assert balance(client, "c-42", bearer(key[:-4] + "AAAA")).status_code == 401


def test_the_customer_token_reads_its_own_balance_only(client, enrolled):
    assert balance(client, "c-42", bearer(token("c-42"))).status_code == 200
    other = balance(client, "c-7", bearer(token("c-42")))
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("bad", [
    token("c-42", expires_in=-10),
    token("c-42", secret="forged-secret-0123456789abcdef0123456789"),
    token("c-42", algorithm="HS512"),
])
def test_expired_forged_or_other_algorithm_tokens_are_401(client, enrolled, bad):
    assert balance(client, "c-42", bearer(bad)).status_code == 401


def test_alg_none_and_tokens_without_exp_are_401(client, enrolled):
    def encode(part):
        return base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
    unsigned = f"{encode({'alg': 'none', 'typ': 'JWT'})}.{encode({'sub': 'c-42', 'exp': 9999999999})}."
    assert balance(client, "c-42", bearer(unsigned)).status_code == 401
    import jwt
    no_exp = jwt.encode({"sub": "c-42"}, TEST_SECRETS["LOYALTY_TOKEN_SECRET"], algorithm="HS256")
    assert balance(client, "c-42", bearer(no_exp)).status_code == 401


def test_tokens_are_refused_without_a_token_secret(database_url, app_factory, enrolled):
    client = app_factory(database_url, LOYALTY_TOKEN_SECRET=None).test_client()
    assert balance(client, "c-42", bearer(token("c-42"))).status_code == 401


@pytest.mark.parametrize("scope, method, path, allowed", [
    ("support", "put", "/v1/customers/c-42", False),
    ("shop", "get", "/v1/support/customers/c-42", False),
    ("shop", "post", "/v1/support/customers/c-42/adjustments", False),
    ("support", "post", "/v1/customers/c-42/quote", False),
    ("admin", "get", "/v1/support/customers/c-42", True),
    ("admin", "put", "/v1/customers/c-42", True),
])
def test_scopes(client, runner, enrolled, scope, method, path, allowed):
    key = make_key(runner, scope)
    body = {"points": 10, "reason": "x"} if "adjust" in path else \
        ({"order_total": {"amount": 100, "currency": "EUR"}} if "quote" in path else {})
    response = getattr(client, method)(path, json=body, headers=bearer(key))
    if allowed:
        assert response.status_code in (200, 201)
    else:
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"


def test_a_customer_token_cannot_use_shop_or_support_endpoints(client, enrolled):
    response = client.get("/v1/support/customers/c-42", headers=bearer(token("c-42")))
    assert response.status_code == 403


def test_credentials_are_checked_before_the_body(client, enrolled):
    response = client.put("/v1/customers/c-42", json={"points": 5})
    assert response.status_code == 401


def test_a_key_revoked_by_another_process_stops_working_within_the_cache_time(app, client, runner, enrolled):
    """Workers keep a verified key for LOYALTY_KEY_CACHE_SECONDS (2 s): a revocation made
    elsewhere (the CLI is another process) is refused once that time has passed."""
    cache, now = app.extensions["loyalty.keys"], [1000.0]
    cache.clock = lambda: now[0]
    key = make_key(runner, "shop")
    assert balance(client, "c-42", bearer(key)).status_code == 200
    with app.app_context():
        db.session.query(ApiKey).update({"revoked_at": db.func.now()})
        db.session.commit()
    now[0] += app.config["LOYALTY_KEY_CACHE_SECONDS"] - 0.1
    assert balance(client, "c-42", bearer(key)).status_code == 200        # within the cache time
    now[0] += 0.2
    assert balance(client, "c-42", bearer(key)).status_code == 401


def test_without_a_key_cache_every_request_reads_the_key(app, app_factory, database_url):
    app = app_factory(database_url, LOYALTY_KEY_CACHE_SECONDS=0)      # (the `app` fixture cleans up)
    runner, client = app.test_cli_runner(), app.test_client()
    deliver_shop(client, purchase(customer="c-42", order="o-1"))
    key = make_key(runner, "shop")
    assert balance(client, "c-42", bearer(key)).status_code == 200
    with app.app_context():
        db.session.query(ApiKey).update({"revoked_at": db.func.now()})
        db.session.commit()
    assert balance(client, "c-42", bearer(key)).status_code == 401
    assert app.extensions["loyalty.keys"].entries == {}
