"""Support: priority flags, manual priority and goodwill points, for support tools."""
from flask import g

from loyalty.api import schemas
from loyalty.api.errors import documented_errors
from loyalty.auth import require
from loyalty.inputs import Blueprint
from loyalty.models.types import utcnow
from loyalty.programme import current_programme
from loyalty.services import accounts

blp = Blueprint("support", __name__, url_prefix="/v1/support/customers",
                description="Priority flags, manual priority and goodwill.")


@blp.route("/<customer_id:customer_id>")
@require("support")
@blp.response(200, schemas.Flags)
@documented_errors(401, 403, 404)
def flags(customer_id):
    """Is this customer priority, with which first-response target, and why."""
    return accounts.flags(current_programme(), accounts.find(customer_id), utcnow())


@blp.route("/<customer_id:customer_id>/priority", methods=["POST"])
@require("support")
@blp.arguments(schemas.PriorityIn)
@blp.response(200, schemas.Flags)
@documented_errors(400, 401, 403, 404, 422)
def priority(body, customer_id):
    """Set manual priority (after a complaint, say) until a date, with a reason."""
    return accounts.set_priority(current_programme(), customer_id, body["reason"], body["until"],
                                 g.principal.name, utcnow())


@blp.route("/<customer_id:customer_id>/adjustments", methods=["POST"])
@require("support")
@blp.arguments(schemas.AdjustmentIn)
@blp.response(201, schemas.AdjustmentOut)
@documented_errors(400, 401, 403, 404, 422)
def adjustment(body, customer_id):
    """Grant goodwill points, available at once, up to the programme's cap per grant."""
    return accounts.grant_goodwill(current_programme(), customer_id, body["points"], body["reason"],
                                   g.principal.name, utcnow())
