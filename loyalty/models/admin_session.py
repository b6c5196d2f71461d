from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.extensions import db
from loyalty.models.types import BigId, UTCDateTime, utcnow


class AdminSession(db.Model):
    """A dashboard login: an admin key exchanged for a cookie. Only a hash of the cookie's
    token is kept; the session ends at `expires_at`, at logout, or when its key is revoked.
    `csrf` is the token the dashboard's forms must echo (logout is its only form)."""

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    api_key_id: Mapped[int] = mapped_column(Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    csrf: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = mapped_column(UTCDateTime, nullable=False, index=True)
