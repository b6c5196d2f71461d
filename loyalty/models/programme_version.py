from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.extensions import db
from loyalty.models.types import BigId, UTCDateTime, utcnow


class ProgrammeVersion(db.Model):
    """A programme as submitted (`source`, TOML or JSON) and as compared (`document`:
    canonical JSON, `digest` its SHA-256). Never edited once published: a draft until
    `published_at`, then in force from `effective_from` until the next published version's."""

    __tablename__ = "programme_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    format: Mapped[str] = mapped_column(String(8), nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    document: Mapped[str] = mapped_column(Text, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    published_at = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(120))
    effective_from = mapped_column(UTCDateTime, unique=True)


class ProgrammeAudit(db.Model):
    """Who did what to a version, and when: drafted, published, applied."""

    __tablename__ = "programme_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, ForeignKey("programme_versions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)


class ProgrammeBacktest(db.Model):
    """A backtest asked for through the admin API that runs long: `queued`, then `running` in
    a `loyalty worker`, then `done` with its `report` or `failed` with an `error`."""

    __tablename__ = "programme_backtests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, ForeignKey("programme_versions.id", ondelete="CASCADE"),
                                            nullable=False)
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    requested_by: Mapped[str] = mapped_column(String(120), nullable=False)
    requested_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    started_at = mapped_column(UTCDateTime)
    finished_at = mapped_column(UTCDateTime)
    report = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(300))
