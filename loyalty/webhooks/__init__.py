"""Webhooks in: `POST /webhooks/stripe` and `POST /webhooks/shop` (api.md, "Webhooks in").

Thin views: verify the signature on the raw body, read and check the event, record it
in the inbox, answer. A well-formed event is recorded by the fast lane in front of Flask
(loyalty/webhooks/intake.py), with the same functions; the views answer everything else. 202 means durably recorded, to be applied by `loyalty worker`; 200
a duplicate or an event type we do not consume (recorded too); anything else makes the
sender retry.
"""
import copy

import marshmallow as ma
from flask import current_app, request
from flask_smorest import Blueprint

from loyalty import inbox, metrics
from loyalty.programme import current_programme
from loyalty.webhooks import shop, stripe_events
from loyalty.webhooks.events import read_event
from loyalty.webhooks.intake import ANSWERS
from loyalty.webhooks.signature import verify

blp = Blueprint("webhooks", __name__, url_prefix="/webhooks",
                description="Purchases and refunds reported by Stripe or by the shop's own checkout.")


class WebhookAnswer(ma.Schema):
    status = ma.fields.String(metadata={
        "description": "`accepted` (202: stored, to be applied), `duplicate` (this source and event id were "
                       "stored before) or `ignored` (a type not consumed; stored).",
        "enum": ["accepted", "duplicate", "ignored"]})


# The request bodies in the OpenAPI document, built from the schemas that parse them.
#
# The views verify the signature on the raw body before anything reads it, so the bodies
# cannot be declared with `@blp.arguments` (which parses first); these schemas are for the
# document only. Each consumed body is its parser's envelope with `type` narrowed to the
# one type and `data` replaced by the schema the parser loads it with: the fields are the
# parser's own objects, so a limit changed there changes here (tests hold the two together).

def _only(envelope, event_type):
    """The envelope's `type` field, documented as this one value."""
    field = copy.deepcopy(envelope._declared_fields["type"])
    field.metadata = {**field.metadata, "enum": [event_type]}
    return field


class ShopPurchaseCompleted(shop.Envelope):
    type = _only(shop.Envelope, "purchase.completed")
    data = ma.fields.Nested(shop.PurchaseData, required=True)


class ShopPurchaseRefunded(shop.Envelope):
    type = _only(shop.Envelope, "purchase.refunded")
    data = ma.fields.Nested(shop.RefundData, required=True)


class _StripeData(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE        # Stripe also sends `previous_attributes`


class StripeCheckoutSessionData(_StripeData):
    object = ma.fields.Nested(stripe_events.CheckoutSession, required=True)


class StripePaymentIntentData(_StripeData):
    object = ma.fields.Nested(stripe_events.PaymentIntent, required=True)


class StripeChargeData(_StripeData):
    object = ma.fields.Nested(stripe_events.Charge, required=True)


class StripeCheckoutSessionCompleted(stripe_events.Event):
    type = _only(stripe_events.Event, "checkout.session.completed")
    data = ma.fields.Nested(StripeCheckoutSessionData, required=True)


class StripePaymentIntentSucceeded(stripe_events.Event):
    type = _only(stripe_events.Event, "payment_intent.succeeded")
    data = ma.fields.Nested(StripePaymentIntentData, required=True)


class StripeChargeRefunded(stripe_events.Event):
    type = _only(stripe_events.Event, "charge.refunded")
    data = ma.fields.Nested(StripeChargeData, required=True)


# Component name -> (schema, description). Nested schemas come before the schemas that use
# them, so each is referenced by its own name (apispec would otherwise name it after its
# class, and `Customer` or `Money` would clash with the /v1 API's).
COMPONENTS = {
    "ShopMoney": (shop.Money, "Money in minor units; the currency must be the programme's."),
    "ShopPositiveMoney": (shop.PositiveMoney, "Money in minor units, more than zero."),
    "ShopCustomer": (shop.Customer, "Who bought: the loyalty customer id, enrolled on first purchase."),
    "ShopOrderLine": (shop.Line, "One line of the order; bonus rules may match its category or SKU."),
    "ShopOrder": (shop.Order, "The order; every line must be in the total's currency."),
    "ShopOrderRef": (shop.OrderRef, "The order refunded, by the id its purchase reported."),
    "ShopRefundDetail": (shop.Refund, "One refund; each refund id counts once."),
    "ShopPurchase": (shop.PurchaseData, "`data` of `purchase.completed`."),
    "ShopRefund": (shop.RefundData, "`data` of `purchase.refunded`."),
    "ShopPurchaseCompleted": (ShopPurchaseCompleted, "A purchase; `created` is its time (not in the future)."),
    "ShopPurchaseRefunded": (ShopPurchaseRefunded, "A refund of an order; `created` is the refund's time."),
    "StripeMetadata": (stripe_events.Metadata, "The object's metadata: only `loyalty_customer_id` is read "
                       "(not `customer_id`, nor any other key)."),
    "StripeCheckoutSession": (stripe_events.CheckoutSession, "The fields of a Checkout Session we read; "
                              "any others are ignored."),
    "StripePaymentIntent": (stripe_events.PaymentIntent, "The fields of a PaymentIntent we read; any others "
                            "are ignored."),
    "StripeCharge": (stripe_events.Charge, "The fields of a Charge we read; any others are ignored."),
    "StripeCheckoutSessionData": (StripeCheckoutSessionData, None),
    "StripePaymentIntentData": (StripePaymentIntentData, None),
    "StripeChargeData": (StripeChargeData, None),
    "StripeCheckoutSessionCompleted": (StripeCheckoutSessionCompleted, "A paid Checkout Session: a purchase of "
                                       "`amount_total`."),
    "StripePaymentIntentSucceeded": (StripePaymentIntentSucceeded, "A succeeded PaymentIntent: a purchase of "
                                     "`amount_received` (integrations without Checkout)."),
    "StripeChargeRefunded": (StripeChargeRefunded, "A refunded charge: `amount_refunded` is the cumulative "
                             "refunded amount of the order `payment_intent`."),
}
# Field descriptions the parsing schemas do not carry: (component, field) -> text.
FIELD_NOTES = {
    ("ShopPurchaseCompleted", "created"): "Unix seconds: the purchase time.",
    ("ShopPurchaseRefunded", "created"): "Unix seconds: the refund time.",
    ("ShopOrderLine", "quantity"): "Default 1.",
    ("StripeMetadata", "loyalty_customer_id"): "The loyalty customer id. `metadata.customer_id` is NOT read.",
    ("StripeCheckoutSession", "client_reference_id"): "The loyalty customer id; read first.",
    ("StripeCheckoutSession", "customer"): "Stripe customer: the customer enrolled with it, else this id itself, "
                                           "when neither `client_reference_id` nor "
                                           "`metadata.loyalty_customer_id` is given.",
    ("StripeCheckoutSession", "payment_intent"): "The order (so refunds find it); the session id when absent.",
    ("StripeCheckoutSession", "payment_status"): "`paid`, `no_payment_required` or absent count; others are "
                                                 "ignored.",
    ("StripePaymentIntent", "customer"): "Stripe customer, used when `metadata.loyalty_customer_id` is absent.",
    ("StripeCharge", "amount_refunded"): "Cumulative refunded amount of the charge.",
    ("StripeCharge", "payment_intent"): "The order refunded; a charge without one is ignored.",
}


def _by_type(*names):
    """A `oneOf` of the named bodies, told apart by `type`."""
    refs = {name: f"#/components/schemas/{name}" for name in names}
    mapping = {COMPONENTS[name][0]._declared_fields["type"].metadata["enum"][0]: ref for name, ref in refs.items()}
    return {"oneOf": [{"$ref": ref} for ref in refs.values()],
            "discriminator": {"propertyName": "type", "mapping": mapping}}


def expandable_property(converter, field, **_):
    """A Stripe reference: an id, or the expanded object carrying it as `id`."""
    if not isinstance(field, stripe_events.Expandable):
        return {}
    text = {"type": "string", "maxLength": field.most}
    return {"oneOf": [text, {"type": "object", "required": ["id"], "properties": {"id": text}}],
            "description": "An id, or the expanded object with its `id`."}


def _register_components(state):
    """Put the webhook body schemas in the spec of the Api registering this blueprint."""
    api = state.app.extensions["flask-smorest"]["blp_name_to_api"][blp.name]
    api.ma_plugin.converter.add_attribute_function(expandable_property)
    for name, (schema, description) in COMPONENTS.items():
        api.spec.components.schema(name, {"description": description} if description else None, schema=schema)
    for (name, field), note in FIELD_NOTES.items():
        api.spec.components.schemas[name]["properties"][field]["description"] = note


blp.record_once(_register_components)

SHOP_BODY = {**_by_type("ShopPurchaseCompleted", "ShopPurchaseRefunded"),
             "description": "Other types are answered 200 `ignored`."}
STRIPE_BODY = {**_by_type("StripeCheckoutSessionCompleted", "StripePaymentIntentSucceeded", "StripeChargeRefunded"),
               "description": "A Stripe event; only the fields read are listed, others are ignored. Other "
                              "types are answered 200 `ignored`."}
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
    return current_app.response_class(ANSWERS[answer], 202 if answer == "accepted" else 200,
                                      mimetype="application/json")


def documented(header, what, body):
    """The OpenAPI description shared by both endpoints: body, signature header, answers, errors."""
    def decorate(view):
        doc = {"requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
               "parameters": [{"in": "header", "name": header, "required": True,
                               "schema": {"type": "string"}, "description": what}]}
        view = blp.response(202, WebhookAnswer, description="Stored; `loyalty worker` applies it.")(view)
        view = blp.alt_response(200, schema=WebhookAnswer, description="A duplicate, or a type not consumed.")(view)
        for status, description in ERRORS.items():
            view = blp.alt_response(status, description=description)(view)
        return blp.doc(**doc)(view)
    return decorate


@blp.route("/stripe", methods=["POST"])
@documented("Stripe-Signature", "Stripe's signature header, verified against STRIPE_WEBHOOK_SECRET.", STRIPE_BODY)
def stripe_webhook():
    """Receive a Stripe event (checkout.session.completed, payment_intent.succeeded, charge.refunded)."""
    return _handle("stripe", "STRIPE_WEBHOOK_SECRET", "Stripe-Signature")


@blp.route("/shop", methods=["POST"])
@documented("Loyalty-Signature", "`t=<unix>,v1=<hex>`: HMAC-SHA256 of `<t>.<raw body>` with LOYALTY_WEBHOOK_SECRET.",
            SHOP_BODY)
def shop_webhook():
    """Receive a shop event (purchase.completed, purchase.refunded)."""
    return _handle("shop", "LOYALTY_WEBHOOK_SECRET", "Loyalty-Signature")
