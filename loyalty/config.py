"""Configuration from the environment (api.md, "Configuration")."""
import os

from loyalty.outbox import schedule

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_TOKEN_MAX_AGE = 24 * 3600    # the longest a customer token may live, from its iat
DEFAULT_KEY_CACHE_SECONDS = 2       # how long a revoked API key may still work in a running worker
DEFAULT_WEBHOOK_TIMEOUT = 10.0      # seconds a receiver of events out has to answer


def _seconds(name, value, default, most=3600):
    """A positive number of seconds (at most `most`); a bad value stops the service at start."""
    try:
        seconds = float(value) if value else default
    except ValueError:
        raise ValueError(f"{name}: a number of seconds, e.g. 10") from None
    if not 0 < seconds <= most:
        raise ValueError(f"{name}: more than 0 and at most {most:g} seconds")
    return seconds


def _log_level(value):
    level = (value or "INFO").strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("LOYALTY_LOG_LEVEL: one of DEBUG, INFO, WARNING, ERROR")
    return level


def _hops(value):
    """How many reverse proxies stand in front (0: none, the client connects directly)."""
    try:
        hops = int(value or 0)
    except ValueError:
        raise ValueError("LOYALTY_TRUSTED_PROXIES: the number of proxies in front, e.g. 1") from None
    if not 0 <= hops <= 10:
        raise ValueError("LOYALTY_TRUSTED_PROXIES: from 0 to 10")
    return hops


def _schedule(text):
    schedule.parse(text)        # checked now: a bad schedule stops the service at start
    return text


def _flag(value):
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def database_url(environ, instance_path):
    """The SQLAlchemy URL: `LOYALTY_DATABASE_URL`, else a SQLite file in the instance folder.

    Plain `postgresql://` and `postgres://` URLs are taken to mean psycopg 3, the only
    PostgreSQL driver the service installs.
    """
    url = environ.get("LOYALTY_DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "loyalty.sqlite")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def from_environ(environ, instance_path):
    """Every setting the service reads, as a Flask config mapping."""
    url = database_url(environ, instance_path)
    # No pre-ping: it costs a round trip per request. A lost connection is still noticed:
    # the request answers 503 (senders retry) and SQLAlchemy invalidates the whole pool.
    engine_options = {"hide_parameters": True}     # no customer data in a logged database error
    if url.startswith("postgresql"):
        engine_options["connect_args"] = {"connect_timeout": 5}
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "STRIPE_WEBHOOK_SECRET": environ.get("STRIPE_WEBHOOK_SECRET") or None,
        "LOYALTY_WEBHOOK_SECRET": environ.get("LOYALTY_WEBHOOK_SECRET") or None,
        "LOYALTY_TOKEN_SECRET": environ.get("LOYALTY_TOKEN_SECRET") or None,
        "LOYALTY_PANEL_ORIGINS": environ.get("LOYALTY_PANEL_ORIGINS") or "",     # loyalty/panel.py reads it
        "LOYALTY_TOKEN_MAX_AGE": int(environ.get("LOYALTY_TOKEN_MAX_AGE") or DEFAULT_TOKEN_MAX_AGE),
        "LOYALTY_PROGRAMME": environ.get("LOYALTY_PROGRAMME") or None,
        "LOYALTY_PROGRAMME_REFRESH_SECONDS": _seconds("LOYALTY_PROGRAMME_REFRESH_SECONDS",
                                                      environ.get("LOYALTY_PROGRAMME_REFRESH_SECONDS"), 2, 300),
        "LOYALTY_RATE_LIMIT": environ.get("LOYALTY_RATE_LIMIT") or "600 per minute",
        "LOYALTY_LOG_LEVEL": _log_level(environ.get("LOYALTY_LOG_LEVEL")),
        "LOYALTY_TRUSTED_PROXIES": _hops(environ.get("LOYALTY_TRUSTED_PROXIES")),
        "LOYALTY_FAILED_AUTH_LIMIT": environ.get("LOYALTY_FAILED_AUTH_LIMIT") or "20 per minute",
        "LOYALTY_KEY_CACHE_SECONDS": float(environ.get("LOYALTY_KEY_CACHE_SECONDS", DEFAULT_KEY_CACHE_SECONDS)),
        "LOYALTY_ADMIN_SESSION_SECONDS": _seconds("LOYALTY_ADMIN_SESSION_SECONDS",
                                                  environ.get("LOYALTY_ADMIN_SESSION_SECONDS"), 8 * 3600, 7 * 86400),
        "LOYALTY_RATELIMIT_STORAGE_URI": environ.get("LOYALTY_RATELIMIT_STORAGE_URI") or "memory://",
        "LOYALTY_WEBHOOK_ALLOW_PRIVATE": _flag(environ.get("LOYALTY_WEBHOOK_ALLOW_PRIVATE")),
        "LOYALTY_WEBHOOK_TIMEOUT": _seconds("LOYALTY_WEBHOOK_TIMEOUT", environ.get("LOYALTY_WEBHOOK_TIMEOUT"),
                                            DEFAULT_WEBHOOK_TIMEOUT),
        "LOYALTY_WEBHOOK_RETRY_SCHEDULE": _schedule(environ.get("LOYALTY_WEBHOOK_RETRY_SCHEDULE") or ""),
        "MAX_CONTENT_LENGTH": int(environ.get("LOYALTY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
        "API_TITLE": "loyalty",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",     # served from the swagger-ui-bundle package
    }
