from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.extensions import db
from loyalty.models.types import BigId, UTCDateTime, utcnow

KINDS = ("earn", "welcome", "correction", "clawback", "release", "redemption", "expiry", "adjustment", "birthday")
# Where an entry came from: the inbox source of the event that caused it (stripe, shop,
# import), an API action (api: redemptions, goodwill) or a scheduled job (jobs).
SOURCES = ("stripe", "shop", "import", "api", "jobs")


class LedgerEntry(db.Model):
    """One movement of points. Append-only: a correction is a new entry, never an edit.

    Each entry says why it exists (reason, the ids of the rules that produced it and the
    programme version), so "why did I get 129 points?" always has an answer.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_customer_id_id", "customer_id", "id"),
        # Lots (credits to available points) for expiry and the balance's expiring list.
        Index("ix_ledger_entries_lots", "customer_id", "available_on",
              postgresql_where=text("status = 'available' AND points > 0"),
              sqlite_where=text("status = 'available' AND points > 0")),
        # Reports by booking date: entries are appended in time order, so a BRIN index (a few
        # pages, next to nothing for each insert to keep up) finds a period's range.
        Index("ix_ledger_entries_created", "created_at", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), nullable=False)
    order_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("orders.id"))
    order = relationship("Order")
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    at = mapped_column(UTCDateTime, nullable=False)
    available_on = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    rules = mapped_column(JSON, nullable=False, default=list)
    programme_version: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(16))        # one of SOURCES
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
