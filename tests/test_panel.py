"""The customer panel's server side, on both backends: the script, the /me page and its
security headers and language, and CORS on the two reads the panel makes (only listed
origins, only GET with Authorization, never credentials; preflights past the limits)."""
import gzip
import re

import pytest

from loyalty.panel import allowed_origins
from tests.api import bearer, make_key, token
from tests.webhooks import deliver_shop, purchase

SHOP = "https://shop.example"
READS = ("/v1/customers/c-42/balance", "/v1/customers/c-42/transactions?limit=5")
PREFLIGHT = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}


@pytest.fixture
def customer(client):
    assert deliver_shop(client, purchase(customer="c-42", order="o-1", amount=12999)) == "processed"
    return bearer(token("c-42"))


def cors_headers(response):
    return {name: value for name, value in response.headers if name.lower().startswith("access-control-")}


def test_the_script_is_served_small_with_its_type_and_a_cache_lifetime(client):
    with client.get("/panel.js") as response:       # closed: send_file streams the file
        body = response.get_data()
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Access-Control-Allow-Origin" not in response.headers      # a classic <script> needs none
    assert b'customElements.define("loyalty-panel"' in body
    compressed = len(gzip.compress(body, compresslevel=9))
    assert compressed < 15 * 1024, f"panel.js is {compressed} bytes gzip-compressed"
    with client.get("/panel.js", headers={"If-None-Match": response.headers["ETag"]}) as again:
        assert again.status_code == 304


def test_the_me_page_is_strict_about_scripts_referrers_and_caching(client):
    response = client.get("/me?token=abc.def.ghi")
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/panel.js" defer>']      # no inline script
    assert '<loyalty-panel token="abc.def.ghi"></loyalty-panel>' in page


@pytest.mark.parametrize("header, lang", [
    (None, "en"), ("ru-RU,ru;q=0.9,en;q=0.5", "ru"), ("da", "da"), ("de-DE,de;q=0.9", "en"),
    ("fr;q=1.0, da;q=0.8, en;q=0.5", "da"), ("en-GB", "en"), ("*", "en")])
def test_the_me_page_speaks_the_language_the_browser_asks_for(client, header, lang):
    response = client.get("/me?token=t", headers={"Accept-Language": header} if header else {})
    assert f'<html lang="{lang}">' in response.get_data(as_text=True)
    assert "Accept-Language" in response.headers["Vary"]


def test_the_token_is_escaped_into_the_attribute(client):
    hostile = '"><script>alert(1)</script><x a=\''
    page = client.get("/me", query_string={"token": hostile}).get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert 'token="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;x a=&#39;"' in page
    assert '<loyalty-panel token=""></loyalty-panel>' in client.get("/me").get_data(as_text=True)


def test_a_listed_origin_may_read_the_balance_and_history(app, client, customer):
    app.config["LOYALTY_PANEL_ORIGINS"] = f"https://other.example, {SHOP}"
    for path in READS:
        response = client.get(path, headers={**customer, "Origin": SHOP})
        assert response.status_code == 200
        assert cors_headers(response) == {"Access-Control-Allow-Origin": SHOP}
        assert "Origin" in response.headers["Vary"]

        preflight = client.options(path, headers={**PREFLIGHT, "Origin": SHOP})
        assert preflight.status_code == 204 and preflight.get_data() == b""
        assert cors_headers(preflight) == {"Access-Control-Allow-Origin": SHOP, "Access-Control-Allow-Methods": "GET",
                                           "Access-Control-Allow-Headers": "Authorization",
                                           "Access-Control-Max-Age": "600"}
        assert "Origin" in preflight.headers["Vary"]


def test_errors_carry_the_cors_headers_so_the_panel_can_say_the_link_expired(app, client, customer):
    app.config["LOYALTY_PANEL_ORIGINS"] = SHOP
    for credential, status in ((token("c-42", expires_in=-60), 401), (token("c-42", secret="forged" * 8), 401),
                               (token("c-nobody"), 404), (token("c-7"), 404)):
        response = client.get(READS[0], headers={**bearer(credential), "Origin": SHOP})
        assert response.status_code == status
        assert response.get_json()["error"]["code"] in ("unauthenticated", "not_found")
        assert cors_headers(response) == {"Access-Control-Allow-Origin": SHOP}


def test_an_unlisted_origin_and_other_endpoints_get_no_cors(app, client, runner, customer):
    app.config["LOYALTY_PANEL_ORIGINS"] = SHOP
    for origin in ("https://evil.example", "http://shop.example", "https://shop.example:8443", "null"):
        for path in READS:
            assert cors_headers(client.get(path, headers={**customer, "Origin": origin})) == {}
            preflight = client.options(path, headers={**PREFLIGHT, "Origin": origin})
            assert preflight.status_code == 204 and cors_headers(preflight) == {}
    shop = make_key(runner, "shop")
    for method, path in (("GET", "/v1/support/customers/c-42"), ("PUT", "/v1/customers/c-42"),
                         ("POST", "/v1/customers/c-42/quote"), ("OPTIONS", "/v1/customers/c-42/redemptions"),
                         ("GET", "/health"), ("GET", "/me"), ("GET", "/panel.js")):
        with client.open(path, method=method, json={} if method in ("PUT", "POST") else None,
                         headers={**bearer(shop), **PREFLIGHT, "Origin": SHOP}) as response:
            assert cors_headers(response) == {}, (method, path)


def test_credentials_are_never_allowed(app, client, customer):
    app.config["LOYALTY_PANEL_ORIGINS"] = SHOP
    client.set_cookie("session", "x")
    for path in READS:
        for response in (client.get(path, headers={**customer, "Origin": SHOP}),
                         client.options(path, headers={**PREFLIGHT, "Origin": SHOP})):
            assert "Access-Control-Allow-Origin" in response.headers
            assert "Access-Control-Allow-Credentials" not in response.headers
            assert response.headers["Access-Control-Allow-Origin"] != "*"


def test_no_setting_means_no_cors_at_all(app, client, customer):
    assert app.config["LOYALTY_PANEL_ORIGINS"] == ""
    for path in READS:
        for response in (client.get(path, headers={**customer, "Origin": SHOP}),
                         client.options(path, headers={**PREFLIGHT, "Origin": SHOP})):
            assert cors_headers(response) == {}
            assert "Origin" not in response.headers.get("Vary", "")


def test_preflights_are_not_refused_by_the_request_limits(app, client, customer):
    """A preflight carries no credential: counted, every browser's preflights would share one
    bucket, and an address out of failed-credential budget could not even ask."""
    app.config.update(LOYALTY_PANEL_ORIGINS=SHOP, LOYALTY_RATE_LIMIT="3 per minute",
                      LOYALTY_FAILED_AUTH_LIMIT="2 per minute")
    stale = {**bearer(token("c-42", expires_in=-60)), "Origin": SHOP}
    for _ in range(2):
        assert client.get(READS[0], headers=stale).status_code == 401
    assert client.get(READS[0], headers=stale).status_code == 429       # this address is out of budget
    for _ in range(10):
        preflight = client.options(READS[0], headers={**PREFLIGHT, "Origin": SHOP})
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == SHOP
    refused = client.get(READS[0], headers=stale)
    assert refused.status_code == 429 and refused.headers["Access-Control-Allow-Origin"] == SHOP      # readable


@pytest.mark.parametrize("setting", ["*", "https://shop.example/", "shop.example", "https://shop.example/account",
                                     "ftp://shop.example", "https://shop.example, https://"])
def test_a_setting_that_is_not_a_list_of_origins_stops_the_service(setting):
    with pytest.raises(ValueError, match="LOYALTY_PANEL_ORIGINS"):
        allowed_origins(setting)


def test_origins_are_read_as_browsers_write_them():
    assert allowed_origins(" https://Shop.Example ,http://127.0.0.1:8080,, https://[::1]:9000") == {
        "https://shop.example", "http://127.0.0.1:8080", "https://[::1]:9000"}
    assert allowed_origins("") == frozenset()
