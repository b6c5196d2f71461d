"""The Flask extensions, created once and bound to each app with `init_app`."""
import os
import sqlite3

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import any_, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine

from loyalty.errors import Api

# The top-level migrations/ of a clone, or the copy setup.py ships inside the package (pip install .).
_PACKAGE = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS_DIR = next((path for path in (os.path.join(_PACKAGE, "migrations"),
                                         os.path.join(os.path.dirname(_PACKAGE), "migrations"))
                       if os.path.isfile(os.path.join(path, "env.py"))),
                      os.path.join(os.path.dirname(_PACKAGE), "migrations"))

db = SQLAlchemy()
migrate = Migrate(directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
api = Api(
    spec_kwargs={
        "info": {
            "description": "Points, tiers, cumulative discounts and priority support for shops. "
            "Money is always {amount: integer minor units, currency: ISO 4217}.",
        }
    }
)


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record):
    """SQLite: enforce foreign keys, let readers and a writer work side by side, wait on locks."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def core(statement, parameters=None):
    """Run a Core statement on the session's connection and transaction, skipping the ORM's
    execution step: no autoflush, and queued appends are not written first, so use it for
    statements that do not read rows this transaction has yet to write."""
    return db.session.connection().execute(statement, parameters)


def one_of(session, column, values):
    """`column IN values`; on PostgreSQL `= ANY(<one array parameter>)`, so the statement is
    the same whatever the number of values (an IN list of 500 placeholders is rendered and
    parsed anew each time: the batch applier's reads took twice as long)."""
    values = sorted(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def init_app(app):
    from loyalty import models  # noqa: F401  (the models must be known to Alembic)

    db.init_app(app)
    migrate.init_app(app, db)
    api.init_app(app)
