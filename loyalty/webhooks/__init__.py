"""Webhooks in: `POST /webhooks/stripe` and `POST /webhooks/shop` (api.md, "Webhooks in").

Thin views: verify the signature on the raw body, parse the event into a command, hand
it to the service, answer the status. 200 means durably recorded; anything else makes
the sender retry.
"""
import marshmallow as ma
from flask import current_app, request
from flask_smorest import Blueprint

from loyalty.services.events import receive
from loyalty.webhooks import shop, stripe_events
from loyalty.webhooks.parsing import json_body
from loyalty.webhooks.signature import verify

blp = Blueprint("webhooks", __name__, url_prefix="/webhooks",
                description="Purchases and refunds reported by Stripe or by the shop's own checkout.")


class WebhookAnswer(ma.Schema):
    status = ma.fields.String(metadata={"description": "`processed`, `duplicate` (already counted) or `ignored`.",
                                        "enum": ["processed", "duplicate", "ignored"]})


DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
       "parameters": []}
ERRORS = {400: "Bad signature, stale timestamp or malformed JSON.", 409: "The order id belongs to another customer.",
          413: "Body too large.", 422: "Invalid event: missing fields, bad amounts, another currency, a future date.",
          503: "Storage unavailable or no secret configured: retry later (`Retry-After`)."}


def _handle(source, parser, secret_key, header):
    raw = request.get_data(cache=False)
    text = verify(raw, request.headers.get(header), current_app.config.get(secret_key))
    event_id, event_type, command = parser.command_of(json_body(text))
    return {"status": receive(source, event_id, event_type, text, command)}


def documented(header, what):
    """The OpenAPI description shared by both endpoints: signature header, answers, errors."""
    def decorate(view):
        doc = {**DOC, "parameters": [{"in": "header", "name": header, "required": True,
                                      "schema": {"type": "string"}, "description": what}]}
        view = blp.response(200, WebhookAnswer)(view)
        for status, description in ERRORS.items():
            view = blp.alt_response(status, description=description)(view)
        return blp.doc(**doc)(view)
    return decorate


@blp.route("/stripe", methods=["POST"])
@documented("Stripe-Signature", "Stripe's signature header, verified against STRIPE_WEBHOOK_SECRET.")
def stripe_webhook():
    """Receive a Stripe event (checkout.session.completed, payment_intent.succeeded, charge.refunded)."""
    return _handle("stripe", stripe_events, "STRIPE_WEBHOOK_SECRET", "Stripe-Signature")


@blp.route("/shop", methods=["POST"])
@documented("Loyalty-Signature", "`t=<unix>,v1=<hex>`: HMAC-SHA256 of `<t>.<raw body>` with LOYALTY_WEBHOOK_SECRET.")
def shop_webhook():
    """Receive a shop event (purchase.completed, purchase.refunded)."""
    return _handle("shop", shop, "LOYALTY_WEBHOOK_SECRET", "Loyalty-Signature")
