from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.extensions import db
from loyalty.models.types import BigId, UTCDateTime, utcnow


class Redemption(db.Model):
    """Points spent at checkout. The idempotency key and a hash of the request make a retry
    answer the same result, and a reuse with another body a conflict."""

    __tablename__ = "redemptions"
    __table_args__ = (UniqueConstraint("customer_id", "idempotency_key", name="uq_redemptions_idempotency"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    order_id: Mapped[str] = mapped_column(String(255), nullable=False)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_off: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class SupportAction(db.Model):
    """What support did for a customer (manual priority, goodwill), with who did it."""

    __tablename__ = "support_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)      # manual_priority | goodwill
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    until = mapped_column(UTCDateTime)
    points: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
