"""Events out for admins: the receivers (`/v1/admin/webhook-endpoints`) and the delivery log
with replays (`/v1/admin/deliveries`). The same as `loyalty endpoints` and `loyalty deliveries`."""
import marshmallow as ma
from marshmallow import validate

from loyalty import inputs
from loyalty.api.errors import documented_errors
from loyalty.auth import require
from loyalty.inputs import Blueprint, Text
from loyalty.models import WebhookEndpoint
from loyalty.models.outbox import DELIVERY_STATUSES
from loyalty.outbox import deliveries, endpoints
from loyalty.outbox.catalog import TYPES

blp = Blueprint("webhook_endpoints", __name__, url_prefix="/v1/admin",
                description="Events out: webhook endpoints, the delivery log, replays.")
_TYPE = validate.OneOf(TYPES)


class EndpointIn(ma.Schema):
    url = Text(WebhookEndpoint.url, least=1, required=True,
               metadata={"description": "https, or http to loopback; private and link-local addresses are refused "
                                        "unless LOYALTY_WEBHOOK_ALLOW_PRIVATE is set."})
    events = ma.fields.List(ma.fields.String(validate=_TYPE), validate=validate.Length(max=len(TYPES)),
                            metadata={"description": "The types it takes; none or empty: every type."})
    description = Text(WebhookEndpoint.description, load_default="")


class EndpointOut(ma.Schema):
    id = ma.fields.Integer()
    url = ma.fields.String()
    description = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    all_events = ma.fields.Boolean()
    enabled = ma.fields.Boolean()
    disabled_reason = ma.fields.String(allow_none=True)
    disabled_at = ma.fields.AwareDateTime(allow_none=True)
    last_success_at = ma.fields.AwareDateTime(allow_none=True)
    previous_secret_until = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "While set, the previous secret signs too (after a rotation)."})
    created_at = ma.fields.AwareDateTime()


class EndpointWithSecret(EndpointOut):
    secret = ma.fields.String(metadata={"description": "The signing secret (`whsec_...`): shown this once."})


class EndpointList(ma.Schema):
    endpoints = ma.fields.List(ma.fields.Nested(EndpointOut))


class DeliveryQuery(ma.Schema):
    endpoint = ma.fields.Integer(validate=validate.Range(1, 2**31 - 1))
    status = ma.fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    type = ma.fields.String(validate=_TYPE)
    since = inputs.AwareDateTime()
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(1, 100))
    before = ma.fields.Integer(validate=validate.Range(1, 2**63 - 1),
                               metadata={"description": "`next_before` of the previous page."})


class DeliveryOut(ma.Schema):
    id = ma.fields.Integer()
    endpoint_id = ma.fields.Integer()
    event_id = ma.fields.String(metadata={"description": "The event's id: `webhook-id` and the body's `id`."})
    type = ma.fields.String()
    customer_id = ma.fields.String(allow_none=True)
    sequence = ma.fields.Integer(allow_none=True)
    status = ma.fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.AwareDateTime(allow_none=True)
    last_attempt_at = ma.fields.AwareDateTime(allow_none=True)
    delivered_at = ma.fields.AwareDateTime(allow_none=True)
    last_status = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class DeliveryList(ma.Schema):
    deliveries = ma.fields.List(ma.fields.Nested(DeliveryOut))
    next_before = ma.fields.Integer(allow_none=True)


class Attempt(ma.Schema):
    at = ma.fields.AwareDateTime()
    status = ma.fields.Integer(allow_none=True)
    latency_ms = ma.fields.Integer()
    response = ma.fields.String(metadata={"description": "The first characters of the answer."})
    error = ma.fields.String(allow_none=True)


class DeliveryDetail(DeliveryOut):
    payload = ma.fields.Dict(metadata={"description": "The body sent."})
    attempt_log = ma.fields.List(ma.fields.Nested(Attempt))


class ReplayIn(ma.Schema):
    since = inputs.AwareDateTime(required=True)
    until = inputs.AwareDateTime(required=True)
    endpoint = ma.fields.Integer(validate=validate.Range(1, 2**31 - 1),
                                 metadata={"description": "Only to this endpoint (default: every enabled one)."})


class ReplayOut(ma.Schema):
    replayed = ma.fields.Integer(metadata={"description": "Deliveries sent again."})
    added = ma.fields.Integer(metadata={"description": "Events the endpoint never had, now sent."})
    endpoints = ma.fields.List(ma.fields.Integer())


def _endpoint(endpoint, secret=None):
    return {**endpoints.describe(endpoint), **({"secret": secret} if secret else {})}


@blp.route("/webhook-endpoints")
@require("admin")
@blp.response(200, EndpointList)
@documented_errors(401, 403)
def list_endpoints():
    """Every endpoint, enabled or not, with why it was disabled."""
    return {"endpoints": [endpoints.describe(endpoint) for endpoint in endpoints.listing()]}


@blp.route("/webhook-endpoints", methods=["POST"])
@require("admin")
@blp.arguments(EndpointIn)
@blp.response(201, EndpointWithSecret)
@documented_errors(400, 401, 403, 422)
def add_endpoint(body):
    """Register a receiver; the answer holds its signing secret, shown this once."""
    return _endpoint(*endpoints.add(body["url"], body.get("events"), body["description"]))


@blp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>")
@require("admin")
@blp.response(200, EndpointOut)
@documented_errors(401, 403, 404)
def get_endpoint(endpoint_id):
    return endpoints.describe(endpoints.find(endpoint_id))


@blp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>", methods=["DELETE"])
@require("admin")
@blp.response(204)
@documented_errors(401, 403, 404)
def remove_endpoint(endpoint_id):
    """Remove it, with its deliveries and their log."""
    endpoints.remove(endpoint_id)


@blp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>/disable", methods=["POST"])
@require("admin")
@blp.response(200, EndpointOut)
@documented_errors(401, 403, 404)
def disable_endpoint(endpoint_id):
    """Stop sending to it; its pending deliveries wait."""
    return endpoints.describe(endpoints.disable(endpoint_id))


@blp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>/enable", methods=["POST"])
@require("admin")
@blp.response(200, EndpointOut)
@documented_errors(401, 403, 404)
def enable_endpoint(endpoint_id):
    """Send to it again (replay a time range for what it missed)."""
    return endpoints.describe(endpoints.enable(endpoint_id))


@blp.route("/webhook-endpoints/<int(max=2147483647):endpoint_id>/rotate-secret", methods=["POST"])
@require("admin")
@blp.response(200, EndpointWithSecret)
@documented_errors(401, 403, 404)
def rotate_secret(endpoint_id):
    """A new signing secret, shown this once; the old one keeps signing for 24 hours."""
    return _endpoint(*endpoints.rotate_secret(endpoint_id))


@blp.route("/deliveries")
@require("admin")
@blp.arguments(DeliveryQuery, location="query")
@blp.response(200, DeliveryList)
@documented_errors(400, 401, 403, 422)
def list_deliveries(query):
    """The delivery log, newest first: `endpoint`, `status`, `type` and `since` narrow it."""
    return deliveries.listing(query.get("endpoint"), query.get("status"), query.get("type"), query.get("since"),
                              query["limit"], query.get("before"))


@blp.route("/deliveries/<int(max=9223372036854775807):delivery_id>")
@require("admin")
@blp.response(200, DeliveryDetail)
@documented_errors(401, 403, 404)
def get_delivery(delivery_id):
    """One delivery: the body sent and every attempt (status, latency, first bytes of the answer)."""
    return deliveries.detail(delivery_id)


@blp.route("/deliveries/<int(max=9223372036854775807):delivery_id>/replay", methods=["POST"])
@require("admin")
@blp.response(202, ReplayOut)
@documented_errors(401, 403, 404)
def replay_delivery(delivery_id):
    """Send it again (same `webhook-id`), as a new round of retries."""
    return {**deliveries.replay(delivery_id), "added": 0, "endpoints": []}


@blp.route("/deliveries/replay", methods=["POST"])
@require("admin")
@blp.arguments(ReplayIn)
@blp.response(202, ReplayOut)
@documented_errors(400, 401, 403, 404, 422)
def replay_range(body):
    """Send again every event of [since, until) to an endpoint, or to every enabled one."""
    return deliveries.replay_range(body["since"], body["until"], body.get("endpoint"))
