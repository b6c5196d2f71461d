"""Request rates on the /v1 API: a rate per credential, and a budget of failed credentials
(401s) per client address, both answered 429 with Retry-After.

Counted in fixed windows with the `limits` package (what Flask-Limiter counts with, minus
its per-request machinery, which cost more than the balance read it guarded). Counts live
in LOYALTY_RATELIMIT_STORAGE_URI: `memory://` is per process; point it at Redis or
memcached to share them across workers.
"""
import functools
import hashlib
import math
import time

from flask import current_app, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from loyalty.errors import LoyaltyError

rate = functools.lru_cache(maxsize=32)(parse)       # "600 per minute" -> a limit, parsed once


def credential_key():
    """One bucket per credential (a hash of it: the credential itself is never stored)."""
    return hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()


class RequestLimits:
    def __init__(self, app, blueprints):
        self.counter = FixedWindowRateLimiter(storage_from_string(app.config["LOYALTY_RATELIMIT_STORAGE_URI"]))
        self.blueprints = {blueprint.name for blueprint in blueprints}
        app.before_request(self.check)
        app.after_request(self.count_failure)

    def check(self):
        if request.blueprint not in self.blueprints:
            return
        failures = rate(current_app.config["LOYALTY_FAILED_AUTH_LIMIT"])
        address = request.remote_addr or ""
        if not self.counter.test(failures, "failed-credentials", address):
            self._refuse(failures, "failed-credentials", address)
        requests, credential = rate(current_app.config["LOYALTY_RATE_LIMIT"]), credential_key()
        if not self.counter.hit(requests, "credential", credential):
            self._refuse(requests, "credential", credential)

    def count_failure(self, response):
        if response.status_code == 401 and request.blueprint in self.blueprints:
            self.counter.hit(rate(current_app.config["LOYALTY_FAILED_AUTH_LIMIT"]), "failed-credentials",
                             request.remote_addr or "")
        return response

    def _refuse(self, limit, *key):
        reset = self.counter.get_window_stats(limit, *key).reset_time
        raise LoyaltyError(429, "rate_limited", f"Too many requests: at most {limit}; retry later.",
                           headers={"Retry-After": str(max(1, math.ceil(reset - time.time())))})


def init_app(app, blueprints):
    app.extensions["loyalty.limits"] = RequestLimits(app, blueprints)
