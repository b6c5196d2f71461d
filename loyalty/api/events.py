"""Following an event: what became of a webhook the service recorded (shop and admin)."""
import marshmallow as ma

from loyalty import inbox
from loyalty.api.errors import documented_errors
from loyalty.auth import require
from loyalty.errors import LoyaltyError
from loyalty.inputs import Blueprint
from loyalty.models.webhook_event import STATUSES

blp = Blueprint("events", __name__, url_prefix="/v1/events", description="Recorded webhook events and their status.")


class EventError(ma.Schema):
    code = ma.fields.String()
    message = ma.fields.String()


class EventOut(ma.Schema):
    source = ma.fields.String(metadata={"enum": ["stripe", "shop", "import"]})
    id = ma.fields.String(attribute="event_id")
    type = ma.fields.String()
    status = ma.fields.String(metadata={
        "enum": list(STATUSES),
        "description": "`queued` (stored, not applied yet), `processed`, `duplicate` (another event already counted "
                       "this order or refund), `parked` (a refund waiting for its purchase), `ignored` (a type not "
                       "consumed) or `failed` (not applied: `error` says why). A `processed` event may carry a note in "
                       "`error` too: `refund_capped` when refunds on the order add up to more than its total (they "
                       "count up to the total)."})
    received_at = ma.fields.AwareDateTime()
    applied_at = ma.fields.AwareDateTime(allow_none=True)
    error = ma.fields.Method("error_of", metadata={"type": "object", "nullable": True})

    def error_of(self, event):
        return {"code": event.error_code, "message": event.error_message} if event.error_code else None


def as_json(event):
    return EventOut().dump(event)


@blp.route("/<any(stripe, shop, import):source>/<event_id:event_id>")
@require("shop")
@blp.response(200, EventOut)
@documented_errors(401, 403, 404)
def event(source, event_id):
    """Where a recorded event stands: queued, processed, duplicate, parked, ignored or failed."""
    found = inbox.find(source, event_id)
    if found is None:
        raise LoyaltyError(404, "not_found", "No such event.")
    return found
