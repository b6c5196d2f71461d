"""Request rates on the /v1 API: a rate per credential, and a budget of failed credentials
(401s) per client address, both answered 429 with Retry-After. Past its budget an address
is still served when its credential is valid: only the failing ones wait. The client's
address is the proxy's unless LOYALTY_TRUSTED_PROXIES says how many stand in front.

Counted in fixed windows that open at a key's first hit. LOYALTY_RATELIMIT_STORAGE_URI
says where: `memory://` counts in this process (a dict under a lock: the `limits`
package's own memory storage starts a timer thread every 10 ms under load, which cost a
balance read more CPU than its query); any other URI (Redis, memcached) shares the counts
across workers through the `limits` package.
"""
import functools
import hashlib
import logging
import math
import threading
import time

from flask import current_app, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from loyalty.auth import authenticate, credential_of
from loyalty.errors import LoyaltyError

log = logging.getLogger(__name__)
rate = functools.lru_cache(maxsize=32)(parse)       # "600 per minute" -> a limit, parsed once


def credential_key():
    """One bucket per credential as authentication reads it, however the header spells
    "Bearer" (a hash of it: the credential itself is never stored)."""
    credential = credential_of(request.headers.get("Authorization", "")) or ""
    return hashlib.sha256(credential.encode("utf-8", "surrogatepass")).hexdigest()


class LocalWindows:
    """Fixed windows in this process: key -> [window end, hits]. Ended windows are swept
    once the table passes `sweep_at` keys, so many addresses cannot grow it for good."""

    def __init__(self, clock=time.monotonic, sweep_at=10_000):
        self.windows, self.lock, self.clock, self.sweep_at = {}, threading.Lock(), clock, sweep_at

    def _window(self, limit, key, now):
        window = self.windows.get(key)
        if window is None or window[0] <= now:
            if len(self.windows) >= self.sweep_at:
                self.windows = {k: w for k, w in self.windows.items() if w[0] > now}
            window = self.windows[key] = [now + limit.get_expiry(), 0]
        return window

    def hit(self, limit, *key):
        """Count one; False once the window already holds `limit.amount`."""
        with self.lock:
            window = self._window(limit, key, self.clock())
            if window[1] >= limit.amount:
                return False
            window[1] += 1
            return True

    def test(self, limit, *key):
        with self.lock:
            window = self.windows.get(key)
            return window is None or window[0] <= self.clock() or window[1] < limit.amount

    def retry_after(self, limit, *key):
        with self.lock:
            window = self.windows.get(key)
            return window[0] - self.clock() if window else 0


class SharedWindows:
    """Fixed windows in shared storage (Redis, memcached), through the `limits` package.

    When the storage cannot be reached the limits fail open: requests are served uncounted
    and a warning is logged (at most every WARN_EVERY seconds). A rate limit protects the
    service; refusing every request, webhooks' senders and shops' checkouts included,
    because a counter store is down would turn its outage into ours."""
    WARN_EVERY = 10.0

    def __init__(self, storage, clock=time.monotonic):
        self.counter, self.clock, self.warned_at = FixedWindowRateLimiter(storage), clock, None

    def _open(self, error):
        now = self.clock()
        if self.warned_at is None or now - self.warned_at >= self.WARN_EVERY:
            self.warned_at = now
            log.warning("rate-limit storage unreachable (%s): requests are served uncounted", type(error).__name__)
        return True

    def hit(self, limit, *key):
        try:
            return self.counter.hit(limit, *key)
        except Exception as error:         # redis, memcached or network errors alike
            return self._open(error)

    def test(self, limit, *key):
        try:
            return self.counter.test(limit, *key)
        except Exception as error:
            return self._open(error)

    def retry_after(self, limit, *key):
        try:
            return self.counter.get_window_stats(limit, *key).reset_time - time.time()
        except Exception:
            return 1


def valid_credential():
    """Does the request carry a credential that authenticates? Asked only of an address past
    its failure budget: behind a proxy many clients share one address, and one client with
    a stale key must not lock out the others, so the budget never refuses a valid one."""
    try:
        authenticate()
    except LoyaltyError:
        return False
    return True


def windows(uri):
    return LocalWindows() if uri == "memory://" else SharedWindows(storage_from_string(uri))


class RequestLimits:
    def __init__(self, app, blueprints):
        self.counter = windows(app.config["LOYALTY_RATELIMIT_STORAGE_URI"])
        self.blueprints = {blueprint.name for blueprint in blueprints}
        app.before_request(self.check)
        app.after_request(self.count_failure)

    def check(self):
        if request.blueprint not in self.blueprints:
            return
        failures = rate(current_app.config["LOYALTY_FAILED_AUTH_LIMIT"])
        address = request.remote_addr or ""
        if not self.counter.test(failures, "failed-credentials", address) and not valid_credential():
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
        wait = self.counter.retry_after(limit, *key)
        raise LoyaltyError(429, "rate_limited", f"Too many requests: at most {limit}; retry later.",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})


def init_app(app, blueprints):
    app.extensions["loyalty.limits"] = RequestLimits(app, blueprints)
