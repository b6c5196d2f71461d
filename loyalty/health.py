"""Liveness (/health: the service answers and its database is reachable) and readiness
(/ready: also its schema is the one this code's migrations build, so a load balancer sends
no traffic to a node whose database was never migrated or is a release behind). Also the
files of the human docs page (/docs), served from the swagger-ui-bundle package."""
import functools

import marshmallow as ma
from alembic.script import ScriptDirectory
from flask import redirect, send_from_directory
from flask_smorest import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from swagger_ui_bundle import swagger_ui_path

from loyalty import inbox
from loyalty.extensions import MIGRATIONS_DIR, db

blp = Blueprint("health", __name__, description="Service and database health.")


class QueueSchema(ma.Schema):
    depth = ma.fields.Integer(metadata={"description": "Events recorded and not applied yet."})
    oldest_age_s = ma.fields.Float(allow_none=True, metadata={"description": "Seconds the oldest queued event "
                                                                             "has waited (null: none)."})


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "`ok` when the database is reachable."})
    database = ma.fields.String(metadata={"description": "`reachable`."})
    queue = ma.fields.Nested(QueueSchema, metadata={"description": "The inbox `loyalty worker` applies."})


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(503, description="The database is unreachable; `Retry-After` says when to ask again.")
def health():
    """Is the service up with its database reachable, and how long is the queue of events?"""
    return {"status": "ok", "database": "reachable", "queue": inbox.queue_stats()}


class ReadySchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "`ready`, or `not_ready` with a reason."})
    schema = ma.fields.String(allow_none=True, metadata={"description": "The database's migration revision."})
    expected = ma.fields.String(metadata={"description": "The revision this code's migrations end at."})
    reason = ma.fields.String(metadata={"description": "Why the node is not ready (absent when ready)."})


@functools.cache
def expected_revision():
    return ",".join(sorted(ScriptDirectory(MIGRATIONS_DIR).get_heads()))


def _schema_revision():
    """The database's revision; None when it was never migrated."""
    try:
        rows = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError as error:
        if error.connection_invalidated or "alembic_version" not in str(error.orig):
            raise                   # unreachable: the storage error handler answers 503
        db.session.rollback()
        return None
    return ",".join(sorted(rows)) or None


@blp.route("/ready")
@blp.response(200, ReadySchema)
@blp.alt_response(503, schema=ReadySchema, description="Not ready: the schema is behind (or ahead of) the code, or "
                                                       "the database is unreachable (then the error format).")
def ready():
    """Should a load balancer send this node traffic? Yes when the database answers and its
    schema is at the revision this code's migrations end at (`loyalty db upgrade`)."""
    found, expected = _schema_revision(), expected_revision()
    if found != expected:
        reason = ("the database was never migrated" if found is None else
                  f"the database schema is at {found}, this code needs {expected}") + ": run `loyalty db upgrade`"
        return {"status": "not_ready", "schema": found, "expected": expected, "reason": reason}, 503
    return {"status": "ready", "schema": found, "expected": expected}


def docs_assets(filename):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def init_app(app):
    """The docs page's files: plain Flask, outside the API and its document."""
    app.add_url_rule("/docs/assets/<path:filename>", "docs_assets", docs_assets)
    app.add_url_rule("/docs/", "docs_slash", lambda: redirect("/docs", 308))
