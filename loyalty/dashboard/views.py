"""The admin dashboard at /admin: a login with an admin key, then one page drawing the
reports (liability, accounting, tier mix, cohort retention, churn and lifetime value by
tier, cost by tier) from /admin/reports/NAME, the same JSON as /v1/admin/reports/NAME.

Against cross-site requests: the session cookie is HttpOnly and SameSite=Strict, the
only forms (login, logout) carry a token the attacker's page cannot read (double-submit
for login, the session's own token for logout), and a request whose Origin header names
another site is refused (the pages send Referrer-Policy same-origin: with no-referrer, browsers
send `Origin: null` on a form post). Pages forbid framing and load scripts only from this origin."""
import hmac
import secrets

import marshmallow as ma
from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request

from loyalty.api.reports import ReportQuery
from loyalty.dashboard import sessions
from loyalty.errors import LoyaltyError
from loyalty.limits import rate
from loyalty.reports import command

blp = Blueprint("dashboard", __name__, url_prefix="/admin")
LOGIN_CSRF = "loyalty_admin_login"
HEADERS = {"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                      "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
           "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
           "X-Content-Type-Options": "nosniff"}


def _page(body, status=200):
    response = make_response(body, status)
    response.headers.update(HEADERS)
    return response


def _cookie(response, name, value, seconds):
    response.set_cookie(name, value, max_age=seconds, path="/admin", httponly=True, samesite="Strict",
                        secure=request.is_secure)


def _same_origin():
    origin = request.headers.get("Origin")
    return origin is None or origin == request.host_url.rstrip("/")


def _failures():
    """The failed-credential budget of the /v1 API, per client address, shared with it."""
    return current_app.extensions["loyalty.limits"].counter, rate(current_app.config["LOYALTY_FAILED_AUTH_LIMIT"]), \
        ("failed-credentials", request.remote_addr or "")


def _login_page(message=None, status=200):
    token = secrets.token_urlsafe(32)
    response = _page(render_template("dashboard/login.html", csrf=token, message=message), status)
    _cookie(response, LOGIN_CSRF, token, 3600)
    return response


@blp.get("/login")
def login_form():
    return _login_page()


@blp.post("/login")
def login():
    sent, expected = request.form.get("csrf", ""), request.cookies.get(LOGIN_CSRF, "")
    if not _same_origin() or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _login_page("The login form expired; try again.", 400)
    admin, (counter, budget, key) = sessions.admin_key(request.form.get("key")), _failures()
    if admin is None:           # past the budget only failures wait: a valid key always logs in
        if not counter.test(budget, *key):
            return _login_page("Too many failed logins from this address; wait a minute.", 429)
        counter.hit(budget, *key)
        return _login_page("That is not an active admin key.", 401)
    token, seconds = sessions.open_session(admin)
    response = redirect("/admin", 303)
    _cookie(response, sessions.COOKIE, token, seconds)
    response.delete_cookie(LOGIN_CSRF, path="/admin")
    return response


def _signed_in():
    g.admin_session = sessions.current(request.cookies.get(sessions.COOKIE))
    return g.admin_session is not None


@blp.post("/logout")
def logout():
    if _signed_in() and _same_origin() and hmac.compare_digest(request.form.get("csrf", "").encode(),
                                                             g.admin_session.csrf.encode()):
        sessions.close(g.admin_session)
    response = redirect("/admin/login", 303)
    response.delete_cookie(sessions.COOKIE, path="/admin")
    return response


@blp.get("")
def dashboard():
    if not _signed_in():
        return redirect("/admin/login", 303)
    return _page(render_template("dashboard/index.html", csrf=g.admin_session.csrf))


@blp.get("/reports/<name>")
def report(name):
    """The report's JSON for the page, with the session cookie instead of a key."""
    if not _signed_in():
        raise LoyaltyError(401, "unauthenticated", "Log in at /admin/login first.")
    if name not in command.NAMES:
        abort(404)
    try:
        query = ReportQuery().load(request.args)
    except ma.ValidationError as error:
        raise LoyaltyError(422, "invalid_request", "The query has invalid values.", details=error.messages) from None
    result = command.report(name, query.get("start"), query.get("end"), query["period"], query["churn_days"])
    response = make_response(result)
    response.headers.update(HEADERS)
    return response


def init_app(app):
    app.register_blueprint(blp)
