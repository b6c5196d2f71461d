"""Liveness: the service answers and its database is reachable."""
import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import text

from loyalty.extensions import db

blp = Blueprint("health", __name__, description="Service and database health.")


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "`ok` when the database is reachable."})
    database = ma.fields.String(metadata={"description": "`reachable`."})


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(503, description="The database is unreachable; `Retry-After` says when to ask again.")
def health():
    """Is the service up with its database reachable?"""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "reachable"}
