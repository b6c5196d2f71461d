"""Programme versions as stored: drafted, published for a time, never edited after.

A version is a *draft* until published; published, it is *scheduled* until its
`effective_from`, then *live* until the next published version takes over, then
*retired*. A version may only take effect from now on (never in the past: points already
earned stay as earned), and it keeps the programme's currency and time zone (amounts and
days already stored are in those). Every draft, publication and `apply` is in the audit
log with who did it.
"""
import json
import re
from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from loyalty.errors import LoyaltyError
from loyalty.inputs import storable
from loyalty.models import ProgrammeAudit, ProgrammeVersion
from loyalty.programmes import documents
from rules import ProgrammeError
from rules.versions import BEGINNING

PAST_TOLERANCE = timedelta(seconds=60)
ENSURE_LOCK = 7_301_913_001          # the advisory lock of the configured file's publication     # "now" as typed a moment ago still counts as now


def invalid(problems):
    return LoyaltyError(422, "invalid_programme", "The programme has problems; each is listed by place.",
                        {"problems": list(problems)})


def published(session):
    """The published versions, oldest first."""
    return session.scalars(select(ProgrammeVersion).where(ProgrammeVersion.published_at.is_not(None))
                           .order_by(ProgrammeVersion.effective_from)).all()


def live(session, now):
    """The published version in force at `now`."""
    return session.scalar(select(ProgrammeVersion).where(ProgrammeVersion.published_at.is_not(None),
                                                         ProgrammeVersion.effective_from <= now)
                          .order_by(ProgrammeVersion.effective_from.desc()).limit(1))


def every(session):
    """Every version, drafts included, newest first."""
    return session.scalars(select(ProgrammeVersion).order_by(ProgrammeVersion.id.desc())).all()


def status_of(row, rows, now):
    """draft, scheduled, live or retired; `rows`: every published version, oldest first."""
    if row.published_at is None:
        return "draft"
    if row.effective_from > now:
        return "scheduled"
    later = [other for other in rows if row.effective_from < other.effective_from <= now]
    return "retired" if later else "live"


def find(session, ref):
    """A version by id or by its programme's `version` label; 404 otherwise."""
    ref = str(ref)
    row = session.get(ProgrammeVersion, int(ref)) if re.fullmatch(r"[0-9]{1,9}", ref) else None
    if row is None and len(ref) <= 64 and storable(ref):
        row = session.scalar(select(ProgrammeVersion).where(ProgrammeVersion.label == ref))
    if row is None:
        raise LoyaltyError(404, "not_found", f"No programme version {ref[:80]!r}.")
    return row


def record(session, row, action, actor, now, **detail):
    session.add(ProgrammeAudit(version_id=row.id, action=action, actor=actor, at=now,
                               detail=json.dumps(detail, default=str) if detail else None))


def _constant_terms(document, base):
    """What no later version may change, compared with the first version."""
    problems = []
    programme, first = document.programme, documents.stored(base.document)
    if programme.currency != first.currency:
        problems.append(f"currency: must stay {first.currency} (amounts already stored are in it), "
                        f"not {programme.currency}")
    if programme.timezone != first.timezone:
        problems.append(f"timezone: must stay {first.timezone} (days already stored are in it), "
                        f"not {programme.timezone}")
    return problems


def draft(session, text, fmt, actor, now, label=None):
    """Store a valid programme as a draft; 422 listing every problem by place otherwise."""
    try:
        document = documents.parse(text, fmt)
    except ProgrammeError as error:
        raise invalid(error.problems) from None
    try:
        with session.begin_nested():
            return _store(session, document, actor, now, label)
    except IntegrityError:          # the same label stored by someone else a moment ago
        raise LoyaltyError(409, "conflict", "Another version with this `version` label was stored just now.") from None


def _store(session, document, actor, now, label=None):
    label = label or document.programme.version
    rows = published(session)
    problems = _constant_terms(document, rows[0]) if rows else []
    if session.scalar(select(ProgrammeVersion.id).where(ProgrammeVersion.label == label)) is not None:
        problems.append(f"version: {label!r} is taken by another version; give this one a new `version`")
    if problems:
        raise invalid(problems)
    row = ProgrammeVersion(label=label, format=document.format, source=document.source,
                           document=document.canonical, digest=document.digest, created_at=now, created_by=actor)
    session.add(row)
    session.flush()
    record(session, row, "drafted", actor, now)
    return row


def publish(session, ref, actor, now, effective_from=None):
    """Publish a draft to take effect at `effective_from` (default: now)."""
    row = find(session, ref)
    if row.published_at is not None:
        raise LoyaltyError(409, "already_published", f"Version {row.label!r} is already published; "
                           "a published version never changes: draft a new one.")
    effective_from = effective_from or now
    if effective_from < now - PAST_TOLERANCE:
        raise LoyaltyError(422, "effective_in_past", "A version takes effect from now on, never in the past: "
                           "points already earned stay as earned.", {"effective_from": effective_from.isoformat()})
    if session.scalar(select(ProgrammeVersion.id).where(ProgrammeVersion.effective_from == effective_from)):
        raise LoyaltyError(409, "effective_from_taken", "Another version takes effect at that moment.")
    rows = published(session)
    problems = _constant_terms(documents.Document("json", row.source, json.loads(row.document),
                                                  documents.stored(row.document)), rows[0]) if rows else []
    if problems:
        raise invalid(problems)
    try:
        with session.begin_nested():
            row.published_at, row.published_by, row.effective_from = now, actor, effective_from
            record(session, row, "published", actor, now, effective_from=effective_from.isoformat())
    except IntegrityError:          # another version published for the same moment a moment ago
        raise LoyaltyError(409, "effective_from_taken", "Another version takes effect at that moment.") from None
    return row


def ensure(session, document, explicit, now):
    """What the configured file means for the stored versions, once per process start:
    none stored yet: the file becomes the first version, in force from the beginning;
    `explicit` (LOYALTY_PROGRAMME set) and no published version has the file's content:
    the file is published, in force from now. Answers the version stored, or None.
    Processes starting together (gunicorn's workers) take turns: on PostgreSQL an advisory
    lock for the transaction; SQLite writes one at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ENSURE_LOCK})
    rows = published(session)
    if rows and (not explicit or any(row.digest == document.digest for row in rows)):
        return None
    label = document.programme.version
    if session.scalar(select(ProgrammeVersion.id).where(ProgrammeVersion.label == label)) is not None:
        label = f"{label[:55]}@{document.digest[:8]}"
        existing = session.scalar(select(ProgrammeVersion).where(ProgrammeVersion.label == label))
        if existing is not None and existing.published_at is not None:
            return None
    try:
        with session.begin_nested():
            row = _store(session, document, "LOYALTY_PROGRAMME" if explicit else "first start", now, label)
            row.published_at, row.published_by = now, row.created_by
            row.effective_from = now if rows else BEGINNING
            record(session, row, "published", row.created_by, now, effective_from=row.effective_from.isoformat())
            session.flush()
    except IntegrityError:          # another process stored it first (SQLite: no lock to wait on)
        return None
    except LoyaltyError:            # the same: its label is taken now; it is not ours if the content differs
        if any(row.digest == document.digest for row in published(session)) or not explicit:
            return None
        raise
    return row


def history(session, version_ids=None):
    """The audit log, newest first."""
    query = select(ProgrammeAudit).order_by(ProgrammeAudit.at.desc(), ProgrammeAudit.id.desc())
    if version_ids is not None:
        query = query.where(ProgrammeAudit.version_id.in_(version_ids))
    return session.scalars(query).all()
