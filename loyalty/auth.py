"""Who is calling: an API key (scope shop, support or admin) or a customer token.

API keys look like `lk_<prefix>_<secret>`; only a SHA-256 of the whole key is stored and
it is compared in constant time. Customer tokens are JWTs signed HS256 with
LOYALTY_TOKEN_SECRET (the algorithm is pinned: `alg: none` and others are refused), with
`exp` required and `sub` the customer id. A token lives at most LOYALTY_TOKEN_MAX_AGE
seconds (default 24 h) from its `iat`, or from now when it has none: a longer-lived one
is refused. A token reads only its own customer: any other id answers 404, as if it did
not exist.
"""
import functools
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt
from flask import current_app, g, request
from flask_smorest.utils import deepupdate
from sqlalchemy import bindparam, select

from loyalty.errors import LoyaltyError
from loyalty.extensions import core
from loyalty.inputs import clip, length_of, storable
from loyalty.models import ApiKey, Customer, LedgerEntry

KEY_PREFIX = "lk_"
UNAUTHENTICATED = {"WWW-Authenticate": 'Bearer realm="loyalty"'}


@dataclass(frozen=True)
class Principal:
    scope: str                 # shop | support | admin | customer
    name: str                  # recorded as "by" on what this caller does (fits the actor columns)
    customer_id: str | None = None


def new_key():
    """A fresh key and the public prefix that finds its row."""
    prefix = secrets.token_hex(5)
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def key_hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def _fail(message):
    return LoyaltyError(401, "unauthenticated", message, headers=UNAUTHENTICATED)


class KeyCache:
    """Keys verified recently, by the hash of the whole key, for LOYALTY_KEY_CACHE_SECONDS
    (0: none), so a busy shop's requests do not each read the key row. Only accepted keys
    are kept: a new key works at once, a revoked one stops within that time (at once in
    the process that revokes it)."""
    clock = staticmethod(time.monotonic)
    most = 10_000

    def __init__(self, seconds):
        self.seconds, self.entries = seconds, {}

    def get(self, digest):
        found = self.entries.get(digest)
        if found is None or found[1] <= self.clock():
            return None
        return found[0]

    def put(self, digest, principal):
        if self.seconds > 0:
            if len(self.entries) >= self.most:
                self.entries.clear()
            self.entries[digest] = (principal, self.clock() + self.seconds)

    def clear(self):
        self.entries.clear()


_KEY = select(ApiKey.prefix, ApiKey.key_hash, ApiKey.scope, ApiKey.name, ApiKey.revoked_at) \
    .where(ApiKey.prefix == bindparam("prefix"))


def _api_key(credential):
    prefix = credential[len(KEY_PREFIX):].split("_", 1)[0]
    if len(prefix) > length_of(ApiKey.prefix) or not storable(credential):
        raise _fail("Unknown or revoked API key.")
    digest, cache = key_hash(credential), current_app.extensions["loyalty.keys"]
    principal = cache.get(digest)
    if principal is not None:
        return principal
    row = core(_KEY, {"prefix": prefix}).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        raise _fail("Unknown or revoked API key.")
    name = f"key:{row.prefix}" + (f" ({row.name})" if row.name else "")
    principal = Principal(scope=row.scope, name=clip(name, LedgerEntry.actor))
    cache.put(digest, principal)
    return principal


def init_app(app):
    app.extensions["loyalty.keys"] = KeyCache(app.config["LOYALTY_KEY_CACHE_SECONDS"])


def _customer_token(credential):
    secret = current_app.config.get("LOYALTY_TOKEN_SECRET")
    if not secret:
        raise _fail("Customer tokens are not accepted: no token secret is configured.")
    try:
        claims = jwt.decode(credential, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except (jwt.PyJWTError, ValueError, OverflowError):
        raise _fail("Invalid, expired or forged customer token.") from None
    subject, most, expires = claims["sub"], current_app.config["LOYALTY_TOKEN_MAX_AGE"], claims["exp"]
    if isinstance(expires, bool) or not isinstance(expires, (int, float)):
        raise _fail("The token's `exp` must be a number of seconds.")
    if not isinstance(subject, str) or not 0 < len(subject) <= length_of(Customer.id) or not storable(subject):
        raise _fail("The token's subject must be a customer id.")
    issued = claims.get("iat")
    if expires - (issued if isinstance(issued, (int, float)) else time.time()) > most:
        raise _fail(f"The token lives longer than {most} seconds; issue shorter-lived tokens.")
    return Principal(scope="customer", name=clip(f"customer:{subject}", LedgerEntry.actor), customer_id=subject)


def credential_of(header):
    """The credential of an `Authorization` header as authentication reads it: "Bearer" in
    any case, spaces around it ignored. None when there is none."""
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    return credential if scheme.lower() == "bearer" and credential else None


def authenticate():
    credential = credential_of(request.headers.get("Authorization", ""))
    if credential is None:
        raise _fail("Send `Authorization: Bearer <API key or customer token>`.")
    if credential.startswith(KEY_PREFIX):
        return _api_key(credential)
    return _customer_token(credential)


def require(*scopes, customer=False):
    """Let a view run only for API keys of `scopes` (admin always) or, with `customer`, the
    customer whose token names the `customer_id` of the path."""
    allowed = set(scopes) | {"admin"}

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            principal = authenticate()
            if principal.scope == "customer":
                if not customer:
                    raise LoyaltyError(403, "forbidden", "Customer tokens cannot do this.")
                if kwargs.get("customer_id") != principal.customer_id:
                    raise LoyaltyError(404, "not_found", "No such customer.")
            elif principal.scope not in allowed:
                raise LoyaltyError(403, "forbidden", f"This needs a key with scope {' or '.join(sorted(allowed))}.")
            g.principal = principal
            return view(*args, **kwargs)

        who = sorted(allowed) + (["customer token"] if customer else [])
        doc = {"security": [{"bearer": []}],
               "description": f"Callers: {', '.join(who)}."}
        guarded._apidoc = deepupdate(getattr(guarded, "_apidoc", {}), {"manual_doc": doc})
        return guarded
    return decorate
