"""The programme versions this process evaluates under.

The versions live in the database (loyalty/programmes/store.py). Each process holds them
as a `ProgrammeBook` and reads them again every LOYALTY_PROGRAMME_REFRESH_SECONDS
(default 2): a version published anywhere is seen by every web and worker process within
that time, and a version scheduled for a later moment takes over at that moment exactly,
since the book already holds it. `current_programme()` is the version in force now.

The configured file (LOYALTY_PROGRAMME, or the shipped default) is checked at start and
becomes the first version when none is stored; LOYALTY_PROGRAMME, when set, is published
from now on if no published version has its content.
"""
import logging
import threading
import time

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from loyalty.errors import LoyaltyError
from loyalty.models import ProgrammeVersion
from loyalty.models.types import utcnow
from loyalty.programmes import documents
from rules import ProgrammeError
from rules.loading import DEFAULT_PATH
from rules.versions import ProgrammeBook

log = logging.getLogger(__name__)


class ProgrammeFileError(ProgrammeError):
    """The programme file named by LOYALTY_PROGRAMME cannot be used: its `path` and every
    problem in it (`problems`, each `place: what is wrong`), so the command line can say
    what and where in one line each, without a traceback."""

    def __init__(self, path, problems):
        super().__init__(problems)
        self.path = str(path)
        self.args = (f"programme {self.path}:\n  " + "\n  ".join(self.problems),)


def read(path):
    """The programme document in `path` (the shipped default when None); ProgrammeFileError otherwise."""
    try:
        return documents.read_file(path)
    except ProgrammeError as error:
        raise ProgrammeFileError(path or DEFAULT_PATH, error.problems) from None
    except OSError as error:
        raise ProgrammeFileError(path, [f"(file): cannot be read: {error.strerror or error}"]) from None
    except UnicodeDecodeError:
        raise ProgrammeFileError(path, ["(file): is not UTF-8 text"]) from None


def load(path):
    """The programme in `path` (the shipped default when None); ProgrammeFileError otherwise."""
    return read(path).programme


class Programmes:
    """One process's view of the published versions, read again when older than `refresh` seconds."""

    def __init__(self, engine, document, explicit, refresh):
        self.engine, self.document, self.explicit, self.refresh = engine, document, explicit, refresh
        self.book = ProgrammeBook.single(document.programme)
        self._parsed = {}           # version id -> Programme (published versions never change)
        self._read_at = None
        self._ensured = False
        self._lock = threading.Lock()

    def get(self, fresh=False):
        if fresh or self._read_at is None or time.monotonic() - self._read_at >= self.refresh:
            with self._lock:
                if fresh or self._read_at is None or time.monotonic() - self._read_at >= self.refresh:
                    self.reload()
        return self.book

    def reload(self):
        """Read the published versions; a database that cannot be read (not migrated yet,
        unreachable) leaves the book as it was."""
        try:
            with Session(self.engine) as session:
                if not self._ensured:
                    self._ensure(session)
                rows = session.execute(select(ProgrammeVersion.id, ProgrammeVersion.effective_from)
                                       .where(ProgrammeVersion.published_at.is_not(None))).all()
                new = [row.id for row in rows if row.id not in self._parsed]
                if new:         # documents are read once: a published version never changes
                    for version_id, document in session.execute(
                            select(ProgrammeVersion.id, ProgrammeVersion.document).where(ProgrammeVersion.id.in_(new))):
                        self._parsed[version_id] = documents.stored(document)
        except DBAPIError as error:
            log.debug("programme versions not read (%s); keeping the versions held", type(error).__name__)
            self._read_at = time.monotonic()
            return self.book
        if rows:
            self.book = ProgrammeBook.of([(row.effective_from, self._parsed[row.id]) for row in rows])
        self._read_at = time.monotonic()
        return self.book

    def _ensure(self, session):
        from loyalty.programmes import store

        try:
            store.ensure(session, self.document, self.explicit, utcnow())
            session.commit()
        except LoyaltyError as error:
            session.rollback()
            raise ProgrammeFileError(current_app.config.get("LOYALTY_PROGRAMME") or DEFAULT_PATH,
                                     [f"cannot be published: {problem}"
                                      for problem in error.details.get("problems", [error.message])]) from None
        self._ensured = True


def init_app(app):
    """Read the configured file (a bad one stops the service at start) and, once the
    database is reachable and migrated, the stored versions."""
    path = app.config.get("LOYALTY_PROGRAMME")
    app.extensions["loyalty.programme.file"] = read(path)


def connect(app, engine):
    programmes = Programmes(engine, app.extensions["loyalty.programme.file"],
                            bool(app.config.get("LOYALTY_PROGRAMME")), app.config["LOYALTY_PROGRAMME_REFRESH_SECONDS"])
    app.extensions["loyalty.programme"] = programmes
    return programmes


def programme_book(fresh=False):
    """The versions in force over time, as this process last read them (`fresh`: read now;
    the applier does, once a batch, so no event is applied under a version it has not seen)."""
    return current_app.extensions["loyalty.programme"].get(fresh)


def current_programme(now=None, fresh=False):
    """The version in force now (or at `now`)."""
    return programme_book(fresh).at(now or utcnow())
