from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.extensions import db
from loyalty.models.types import BigId, UTCDateTime


class TimelineEvent(db.Model):
    """A purchase or refund in a customer's history, by business time, with the standing
    and order state right after it.

    The snapshots let a late event (an offline till syncing, a delayed webhook) take its
    place: the standing before it is read from the event just before, and only the events
    after it are evaluated again. Snapshots are a projection, rewritten by that replay;
    the ledger itself is never edited.
    """

    __tablename__ = "timeline_events"
    __table_args__ = (
        # A customer's steps in order; with the tier after each, so the tiers report reads
        # histories from the index alone.
        Index("ix_timeline_events_customer_at", "customer_id", "at", "id", postgresql_include=["tier"]),
        # The tiers report: who moved from the lowest tier ('standard' in the default programme).
        Index("ix_timeline_events_moved", "customer_id", postgresql_where=text("tier <> 'standard'"),
              sqlite_where=text("tier <> 'standard'")),
        UniqueConstraint("order_id", "refund_key", name="uq_timeline_events_order_refund_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    order = relationship("Order")
    kind: Mapped[str] = mapped_column(String(16), nullable=False)   # purchase | refund
    at = mapped_column(UTCDateTime, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cumulative: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    refund_key: Mapped[str | None] = mapped_column(String(255))
    standing_after = mapped_column(JSON, nullable=False)
    order_after = mapped_column(JSON, nullable=False)
    tier: Mapped[str | None] = mapped_column(String(32))     # standing_after's tier, a column for the reports


class TierReview(db.Model):
    """A tier the periodic review changed. With the timeline's snapshots (the tier after
    each purchase and refund) it makes the whole history of a customer's tier."""

    __tablename__ = "tier_reviews"
    __table_args__ = (Index("ix_tier_reviews_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    at = mapped_column(UTCDateTime, nullable=False)
    from_tier: Mapped[str] = mapped_column(String(32), nullable=False)
    to_tier: Mapped[str] = mapped_column(String(32), nullable=False)


class SpendBucket(db.Model):
    """Net spend of one customer on one day (programme time zone): qualifying spend is the
    sum of at most a window's worth of these rows, whatever the number of purchases."""

    __tablename__ = "spend_buckets"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    day = mapped_column(Date, primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class ParkedRefund(db.Model):
    """A refund that arrived before its purchase: kept, and applied when the purchase comes."""

    __tablename__ = "parked_refunds"
    __table_args__ = (UniqueConstraint("source", "order_key", "refund_key", name="uq_parked_refunds_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    order_key: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    refund_key: Mapped[str] = mapped_column(String(255), nullable=False)
    at = mapped_column(UTCDateTime, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cumulative: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    event_id: Mapped[int | None] = mapped_column(BigInteger)     # the webhook event that parked it
