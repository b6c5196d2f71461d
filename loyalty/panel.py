"""The customer's own view: the `<loyalty-panel>` web component (`/panel.js`), the page
`/me?token=...` that shows it for one customer (a link in an email), and CORS on the two
reads the panel makes, so a shop can embed it on its own site (api.md, "Customer panel").

The panel holds no privilege of its own: it reads `GET /v1/customers/{id}/balance`,
`/outlook` and `/transactions` with the customer token it was given, as the customer's own app would.
CORS opens only those three reads, only to the exact origins in LOYALTY_PANEL_ORIGINS
(none by default: no CORS header at all), only for GET with an `Authorization` header
and never with credentials (no cookie ever authenticates /v1, so none is let through).

Preflights (OPTIONS) on those reads are answered here, before the request limits:
they carry no credential, so the limits would count every browser's preflights in the
one bucket of the empty credential (600 a minute for all customers together) and refuse
them once an address has spent its failed-credential budget, and a preflight answered
429 fails the real request as a network error."""
import functools
import re

from flask import Blueprint, current_app, make_response, render_template, request, send_from_directory

blp = Blueprint("panel", __name__)

LANGUAGES = ("en", "ru", "da")
TITLES = {"en": "Your loyalty points", "ru": "Ваши баллы лояльности", "da": "Dine loyalitetspoint"}
PANEL_READS = {"customers.balance", "customers.outlook", "customers.transactions"}
PREFLIGHT_MAX_AGE = 600             # seconds a browser may reuse a preflight's answer
SCRIPT_CACHE = "public, max-age=3600"   # the URL is not versioned: a fix reaches shops within an hour

# The page runs only /panel.js, from this origin, which reads only this origin; the
# panel's styles are constructed stylesheets inside its shadow root, which CSP does not
# govern. The token is in the URL: no referrer, no caching, no framing.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
                                           "style-src 'self'; img-src 'self' data:; base-uri 'none'; "
                                           "form-action 'none'; frame-ancestors 'none'",
                "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY",
                "X-Content-Type-Options": "nosniff", "Vary": "Accept-Language"}
_ORIGIN = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?")


@functools.lru_cache(maxsize=8)
def allowed_origins(setting):
    """The origins of LOYALTY_PANEL_ORIGINS (`https://shop.example,https://www.shop.example`),
    as browsers write them in `Origin`: scheme, host and port, lower case, no path. Anything
    else (a path, a trailing slash, `*`) is refused, so a typo stops the service at start
    instead of silently opening or closing the panel."""
    origins = set()
    for entry in (setting or "").split(","):
        origin = entry.strip().lower()
        if not origin:
            continue
        if not _ORIGIN.fullmatch(origin):
            raise ValueError(f"LOYALTY_PANEL_ORIGINS: {entry.strip()!r} is not an origin such as "
                             "https://shop.example (scheme, host and port; no path, no trailing slash, no *)")
        origins.add(origin)
    return frozenset(origins)


def _listed_origin():
    """The request's Origin when CORS is open to it on this endpoint, else None."""
    if request.endpoint not in PANEL_READS:
        return None
    origin = request.headers.get("Origin")
    if origin and origin.lower() in allowed_origins(current_app.config.get("LOYALTY_PANEL_ORIGINS")):
        return origin
    return None


def answer_preflight():
    """OPTIONS on the panel's reads: answered at once (see the module's docstring)."""
    if request.method != "OPTIONS" or request.endpoint not in PANEL_READS:
        return None
    response = current_app.response_class(status=204)
    response.headers.pop("Content-Type", None)
    response.headers["Allow"] = "GET, HEAD, OPTIONS"
    if _listed_origin():
        response.headers.update({"Access-Control-Allow-Methods": "GET",
                                 "Access-Control-Allow-Headers": "Authorization",
                                 "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE)})
    return response


def add_cors_headers(response):
    """Every answer of the panel's reads, errors included (the panel must read a 401 to say
    the link expired), names a listed origin; caches keep one answer per origin."""
    if request.endpoint in PANEL_READS and allowed_origins(current_app.config.get("LOYALTY_PANEL_ORIGINS")):
        response.vary.add("Origin")
        origin = _listed_origin()
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
    return response


@blp.get("/panel.js")
def script():
    """The web component, one static file; a classic <script> needs no CORS to load it."""
    response = send_from_directory(current_app.static_folder, "panel.js", mimetype="text/javascript",
                                   max_age=3600)
    response.headers.pop("Content-Disposition", None)
    response.headers.update({"Cache-Control": SCRIPT_CACHE, "X-Content-Type-Options": "nosniff",
                             "Cross-Origin-Resource-Policy": "cross-origin"})
    return response


@blp.get("/me")
def me():
    """One customer's panel on a page of its own; the token comes in the link and goes
    into the element's `token` attribute, escaped by Jinja (no inline script)."""
    lang = request.accept_languages.best_match(LANGUAGES, default="en")
    page = render_template("panel/me.html", lang=lang, title=TITLES[lang], token=request.args.get("token", ""))
    response = make_response(page)
    response.headers.update(PAGE_HEADERS)
    return response


def init_app(app):
    """Register before the request limits, so that preflights are answered before them."""
    allowed_origins(app.config.get("LOYALTY_PANEL_ORIGINS"))     # a bad setting stops the service now
    app.before_request(answer_preflight)
    app.after_request(add_cors_headers)
    app.register_blueprint(blp)
