from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.extensions import db
from loyalty.models.types import BigId, UTCDateTime, utcnow

DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookEndpoint(db.Model):
    """A receiver of events out (the shop's email, helpdesk or CRM tool). `events` is the
    list of types it takes (None: every type). The secret signs what it is sent; after a
    rotation the previous one keeps signing too until `previous_secret_until`."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    events = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until = mapped_column(UTCDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    disabled_at = mapped_column(UTCDateTime)
    last_success_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class OutboundEvent(db.Model):
    """An event out, written in the transaction of the change it reports (the outbox).
    `body` is the exact JSON sent, so a retry or replay sends the same bytes and id. The
    sender gives it its deliveries afterwards (`fanned_out` once done).
    `sequence` counts one customer's events; `dedupe_key` makes a dated event (a job's)
    once only, however often the job runs."""

    __tablename__ = "outbound_events"
    # Few indexes: every one is paid by the batch applier for each event it records. The id
    # (a random UUID) is unique by construction; times are found by a BRIN index (events are
    # appended in time order); only dated events (jobs) carry a dedupe key.
    __table_args__ = (
        Index("ix_outbound_events_customer_sequence", "customer_id", "sequence"),
        Index("ix_outbound_events_created", "created_at", postgresql_using="brin"),
        Index("ix_outbound_events_dedupe_key", "dedupe_key", unique=True,
              postgresql_where=text("dedupe_key IS NOT NULL"), sqlite_where=text("dedupe_key IS NOT NULL")),
        # What the sender has yet to give deliveries to (delivery.fan_out).
        Index("ix_outbound_events_to_fan_out", "id", postgresql_where=text("NOT fanned_out"),
              sqlite_where=text("NOT fanned_out")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40), nullable=False)
    customer_id: Mapped[str | None] = mapped_column(String(255))
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    fanned_out: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=text("false"))


class Delivery(db.Model):
    """One event to one endpoint: `pending` until a 2xx (`delivered`) or the retry schedule
    is used up (`failed`). `retry` counts the attempts of the current round (a replay
    starts a new one); `attempts` counts them all."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # The delivery queue: what workers claim, soonest due first.
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
        Index("ix_deliveries_endpoint_event", "endpoint_id", "event_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("outbound_events.id"), nullable=False)
    endpoint_id: Mapped[int] = mapped_column(Integer, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
                                             nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    retry: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at = mapped_column(UTCDateTime, nullable=False)
    round_started_at = mapped_column(UTCDateTime, nullable=False)
    last_attempt_at = mapped_column(UTCDateTime)
    delivered_at = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class DeliveryAttempt(db.Model):
    """One try: the answer's status (None: no answer), how long it took, its first bytes."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("deliveries.id", ondelete="CASCADE"),
                                             nullable=False)
    at = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    error: Mapped[str | None] = mapped_column(String(500))
