"""Dashboard logins: an admin API key is exchanged once for a random session token, kept
by the browser in an HttpOnly, SameSite=Strict cookie. Only a SHA-256 of the token is
stored, so a copy of the database opens no session. A session ends when it expires
(LOYALTY_ADMIN_SESSION_SECONDS, 8 h by default), at logout, or as soon as its key is
revoked (every request reads the key's row with the session's)."""
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from loyalty.auth import KEY_PREFIX, key_hash
from loyalty.extensions import db
from loyalty.inputs import length_of, storable
from loyalty.models import AdminSession, ApiKey
from loyalty.models.types import utcnow

COOKIE = "loyalty_admin"


def admin_key(credential):
    """The live admin key row this credential is, or None (unknown, revoked or another scope)."""
    credential = (credential or "").strip()
    prefix = credential[len(KEY_PREFIX):].split("_", 1)[0]
    if not credential.startswith(KEY_PREFIX) or len(prefix) > length_of(ApiKey.prefix) or not storable(credential):
        return None
    row = db.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None or row.revoked_at is not None or row.scope != "admin" \
            or not hmac.compare_digest(row.key_hash, key_hash(credential)):
        return None
    return row


def open_session(key):
    """A new session for the admin key row `key`: answers (token, seconds it lasts). Ended
    sessions are swept at the same time."""
    now, seconds = utcnow(), current_app.config["LOYALTY_ADMIN_SESSION_SECONDS"]
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(AdminSession).where(AdminSession.expires_at <= now))
    db.session.add(AdminSession(token_hash=key_hash(token), api_key_id=key.id, csrf=secrets.token_urlsafe(32),
                                created_at=now, expires_at=now + timedelta(seconds=seconds)))
    db.session.commit()
    return token, int(seconds)


def current(token):
    """The live session of this cookie value, or None."""
    if not token or len(token) > 100 or not storable(token):
        return None
    return db.session.scalars(
        select(AdminSession).join(ApiKey, ApiKey.id == AdminSession.api_key_id)
        .where(AdminSession.token_hash == key_hash(token), AdminSession.expires_at > utcnow(),
               ApiKey.revoked_at.is_(None), ApiKey.scope == "admin")).first()


def close(session_row):
    db.session.delete(session_row)
    db.session.commit()
