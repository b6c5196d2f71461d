from sqlalchemy import BigInteger, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.extensions import db
from loyalty.models.types import UTCDateTime, utcnow


class Customer(db.Model):
    """A shop's customer, keyed by the shop's own id, with the cached standing.

    The standing columns (points, tier, spend) are a projection of the ledger and the
    orders, written in the same transaction as the entries they summarise, so a balance
    read is one primary-key lookup whatever the customer's history.
    """

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    birthday = mapped_column(Date)
    # When the birthday was set or last changed (None: before this was recorded, long ago):
    # the birthday gift waits `recent_change_days` after it.
    birthday_set_at = mapped_column(UTCDateTime)
    # The local date of the last birthday gift: the next waits 365 days (rules/birthday.py).
    birthday_gift_on = mapped_column(Date)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    points_available: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    points_pending: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tier: Mapped[str] = mapped_column(String(32), nullable=False, default="standard")
    tier_since = mapped_column(UTCDateTime)
    lifetime_spend: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    first_purchase_at = mapped_column(UTCDateTime)
    tier_floor: Mapped[str | None] = mapped_column(String(32))
    floor_since = mapped_column(UTCDateTime)
    last_event_at = mapped_column(UTCDateTime)
    # The sequence number of the customer's newest event out (events out count from 1).
    event_sequence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")

    manual_priority_reason: Mapped[str | None] = mapped_column(String(500))
    manual_priority_until = mapped_column(UTCDateTime)
    manual_priority_by: Mapped[str | None] = mapped_column(String(255))
