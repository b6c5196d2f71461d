"""Webhooks in: `POST /webhooks/stripe` and `POST /webhooks/shop` (api.md, "Webhooks in").

Thin views: verify the signature on the raw body, read and check the event, record it
in the inbox, answer. 202 means durably recorded, to be applied by `loyalty worker`; 200
a duplicate or an event type we do not consume (recorded too); anything else makes the
sender retry.
"""
import marshmallow as ma
from flask import current_app, request
from flask_smorest import Blueprint

from loyalty import inbox, metrics
from loyalty.programme import current_programme
from loyalty.webhooks.events import read_event
from loyalty.webhooks.signature import verify

blp = Blueprint("webhooks", __name__, url_prefix="/webhooks",
                description="Purchases and refunds reported by Stripe or by the shop's own checkout.")


class WebhookAnswer(ma.Schema):
    status = ma.fields.String(metadata={
        "description": "`accepted` (202: stored, to be applied), `duplicate` (this source and event id were "
                       "stored before) or `ignored` (a type not consumed; stored).",
        "enum": ["accepted", "duplicate", "ignored"]})


DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
       "parameters": []}
ERRORS = {400: "Bad signature, stale timestamp or malformed JSON.", 413: "Body too large.",
          422: "Invalid event: missing fields, bad amounts, another currency, a future date.",
          503: "Storage unavailable or no secret configured: retry later (`Retry-After`)."}


def _handle(source, secret_key, header):
    raw = request.get_data(cache=False)
    text = verify(raw, request.headers.get(header), current_app.config.get(secret_key))
    event_id, event_type, command = read_event(source, text, current_programme())
    status = "queued" if command is not None else "ignored"
    answer = ("accepted" if command is not None else "ignored") if inbox.record(
        source, event_id, event_type, text, status) else "duplicate"
    metrics.event_received(source, event_type, answer)
    # JSON as it is, in the WebhookAnswer shape: no schema dump on the hot path.
    return current_app.json.response({"status": answer}), 202 if answer == "accepted" else 200


def documented(header, what):
    """The OpenAPI description shared by both endpoints: signature header, answers, errors."""
    def decorate(view):
        doc = {**DOC, "parameters": [{"in": "header", "name": header, "required": True,
                                      "schema": {"type": "string"}, "description": what}]}
        view = blp.response(202, WebhookAnswer, description="Stored; `loyalty worker` applies it.")(view)
        view = blp.alt_response(200, schema=WebhookAnswer, description="A duplicate, or a type not consumed.")(view)
        for status, description in ERRORS.items():
            view = blp.alt_response(status, description=description)(view)
        return blp.doc(**doc)(view)
    return decorate


@blp.route("/stripe", methods=["POST"])
@documented("Stripe-Signature", "Stripe's signature header, verified against STRIPE_WEBHOOK_SECRET.")
def stripe_webhook():
    """Receive a Stripe event (checkout.session.completed, payment_intent.succeeded, charge.refunded)."""
    return _handle("stripe", "STRIPE_WEBHOOK_SECRET", "Stripe-Signature")


@blp.route("/shop", methods=["POST"])
@documented("Loyalty-Signature", "`t=<unix>,v1=<hex>`: HMAC-SHA256 of `<t>.<raw body>` with LOYALTY_WEBHOOK_SECRET.")
def shop_webhook():
    """Receive a shop event (purchase.completed, purchase.refunded)."""
    return _handle("shop", "LOYALTY_WEBHOOK_SECRET", "Loyalty-Signature")
