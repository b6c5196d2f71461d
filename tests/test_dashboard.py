"""The dashboard's login and the data it draws, through the Flask client on both backends:
the session cookie, CSRF on both forms, revocation and expiry, the failed-login budget."""
import re
from datetime import timedelta

from sqlalchemy import update

from loyalty.extensions import db
from loyalty.models import AdminSession
from loyalty.models.types import utcnow
from tests.api import bearer, make_key
from tests.webhooks import deliver_shop, purchase


def login_form(client):
    page = client.get("/admin/login")
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    return re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def log_in(client, key, **headers):
    return client.post("/admin/login", data={"key": key, "csrf": login_form(client)}, headers=headers)


def session_cookie(client):
    return client.get_cookie("loyalty_admin", path="/admin")


def test_an_admin_key_logs_in_and_reads_the_reports_the_api_serves(app, client, runner):
    admin = make_key(runner, "admin")
    assert client.get("/admin").headers["Location"] == "/admin/login"
    assert client.get("/admin/reports/liability").status_code == 401
    answer = log_in(client, admin)
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin"
    cookie = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("loyalty_admin=")][0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
    page = client.get("/admin")
    assert page.status_code == 200 and "uPlot.iife.min.js" in page.get_data(as_text=True)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    deliver_shop(client, purchase(customer="c-1", order="o-1", amount=12_999))
    for name in ("liability", "accounting", "customers", "tiers", "cost"):
        drawn = client.get(f"/admin/reports/{name}")
        assert drawn.status_code == 200 and drawn.get_json() == client.get(f"/v1/admin/reports/{name}",
                                                                          headers=bearer(admin)).get_json()
    assert client.get("/admin/reports/liability").get_json()["pending"] == 229
    assert client.get("/admin/reports/nothing").status_code == 404
    bad = client.get("/admin/reports/accounting?from=2026-02-30")
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_request"
    with client.get("/static/vendor/uplot/uPlot.iife.min.js") as script:
        assert script.status_code == 200 and script.get_data().startswith(b"/*! https://github.com/leeoniya/uPlot")


def test_only_a_live_admin_key_opens_a_session(app, client, runner):
    shop = make_key(runner, "shop")
    for key in (shop, "lk_nothing_here", "", "x" * 5000, "lk_\x00"):
        answer = log_in(client, key)
        assert answer.status_code == 401 and session_cookie(client) is None
        assert "not an active admin key" in answer.get_data(as_text=True)
    admin = make_key(runner, "admin")
    prefix = admin.split("_")[1]
    assert runner.invoke(args=["keys", "revoke", prefix]).exit_code == 0
    assert log_in(client, admin).status_code == 401


def test_the_login_form_needs_its_token_and_this_origin(app, client, runner):
    admin = make_key(runner, "admin")
    login_form(client)
    assert client.post("/admin/login", data={"key": admin, "csrf": "forged"}).status_code == 400
    assert session_cookie(client) is None
    assert log_in(client, admin, Origin="https://evil.example").status_code == 400
    assert log_in(client, admin, Origin="http://localhost").status_code == 303


def test_logout_needs_the_session_token_and_ends_the_session(app, client, runner):
    log_in(client, make_key(runner, "admin"))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/admin").get_data(as_text=True)).group(1)
    client.post("/admin/logout", data={"csrf": "forged"})       # a forged logout clears only the cookie
    client.set_cookie("loyalty_admin", "", path="/admin")
    assert client.get("/admin/reports/liability").status_code == 401
    with app.app_context():
        assert db.session.query(AdminSession).count() == 1      # the session itself was not ended
        db.session.remove()
    log_in(client, make_key(runner, "admin"))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/admin").get_data(as_text=True)).group(1)
    stolen = session_cookie(client).value
    assert client.post("/admin/logout", data={"csrf": token}).headers["Location"] == "/admin/login"
    client.set_cookie("loyalty_admin", stolen, path="/admin")   # a copy of the cookie no longer works
    assert client.get("/admin/reports/liability").status_code == 401


def test_a_revoked_key_or_an_expired_session_ends_it_at_once(app, client, runner):
    admin = make_key(runner, "admin")
    log_in(client, admin)
    assert client.get("/admin").status_code == 200
    with app.app_context():
        db.session.execute(update(AdminSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        db.session.remove()
    assert client.get("/admin").status_code == 303
    log_in(client, admin)
    assert client.get("/admin").status_code == 200
    assert runner.invoke(args=["keys", "revoke", admin.split("_")[1]]).exit_code == 0
    assert client.get("/admin").status_code == 303
    assert client.get("/admin/reports/cost").status_code == 401


def test_failed_logins_share_the_api_failure_budget(app_factory, database_url, runner):
    app = app_factory(database_url, LOYALTY_FAILED_AUTH_LIMIT="3 per minute")
    client = app.test_client()
    admin = make_key(app.test_cli_runner(), "admin")
    for _ in range(3):
        assert log_in(client, "lk_wrong_key").status_code == 401
    assert log_in(client, "lk_wrong_key").status_code == 429
    assert client.get("/v1/customers/c-1/balance", headers=bearer("lk_wrong_key")).status_code == 429
    assert log_in(client, admin).status_code == 303                # a valid key never waits
