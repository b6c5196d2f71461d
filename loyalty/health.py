"""Liveness: the service answers and its database is reachable. Also the files of the
human docs page (/docs), served from the swagger-ui-bundle package: no CDN needed."""
import marshmallow as ma
from flask import send_from_directory
from flask_smorest import Blueprint
from swagger_ui_bundle import swagger_ui_path

from loyalty import inbox

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


def docs_assets(filename):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def init_app(app):
    """The docs page's files: plain Flask, outside the API and its document."""
    app.add_url_rule("/docs/assets/<path:filename>", "docs_assets", docs_assets)
