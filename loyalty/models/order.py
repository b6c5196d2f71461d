from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sqlalchemy import Date

from loyalty.extensions import db
from loyalty.models.types import UTCDateTime, utcnow


class Order(db.Model):
    """A purchase as reported by a webhook, with what was refunded and earned on it.

    `order_key` is the payment intent for Stripe (so every Stripe event about one
    purchase finds the same order) and the shop's order id for shop webhooks.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("source", "order_key", name="uq_orders_source_order_key"),
        # A customer's orders (the write path's reads), in order of purchase: the customers
        # report reads them from the index alone.
        Index("ix_orders_customer_placed_at", "customer_id", "placed_at", postgresql_include=["total", "refunded"]),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    order_key: Mapped[str] = mapped_column(String(255), nullable=False)
    placed_at = mapped_column(UTCDateTime, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    total: Mapped[int] = mapped_column(BigInteger, nullable=False)
    refunded: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    points_earned: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    points_clawed_back: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    fixed_points: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    fixed_removed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    points_pending: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    available_on = mapped_column(Date)
    released_at = mapped_column(UTCDateTime)
    programme_version: Mapped[str | None] = mapped_column(String(64))
    lines = mapped_column(JSON, nullable=False, default=list)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
