"""Request rates on the /v1 API (Flask-Limiter): a rate per credential, and a budget of
failed credentials (401s) per client address, both answered 429 with Retry-After.

Limits are per process with the default in-memory storage; point
LOYALTY_RATELIMIT_STORAGE_URI at Redis or memcached to share them across workers.
"""
import hashlib

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def credential_key():
    """One bucket per credential (a hash of it: the credential itself is never stored)."""
    return hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()


def _failed(response):
    return response.status_code == 401


def init_app(app, blueprints):
    limiter = Limiter(key_func=get_remote_address, app=app, headers_enabled=True,
                      storage_uri=app.config["LOYALTY_RATELIMIT_STORAGE_URI"])
    for blueprint in blueprints:
        limiter.limit(lambda: current_app.config["LOYALTY_RATE_LIMIT"], key_func=credential_key)(blueprint)
        limiter.limit(lambda: current_app.config["LOYALTY_FAILED_AUTH_LIMIT"], key_func=get_remote_address,
                      deduct_when=_failed, scope="failed-credentials")(blueprint)
    app.extensions["loyalty.limiter"] = limiter
