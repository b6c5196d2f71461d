"""Stripe events (`POST /webhooks/stripe`): `checkout.session.completed`,
`payment_intent.succeeded` and `charge.refunded`, as api.md reads them.

The order is the payment intent, so a purchase that Stripe reports through both a
checkout session and a payment intent counts once, and its refunds find it. Stripe
sends currencies lower-case and amounts in the currency's minor unit.
"""
import marshmallow as ma

from loyalty.inputs import Text, fitted_key, length_of, storable
from loyalty.models import Customer as CustomerRow
from loyalty.models import Order, TimelineEvent, WebhookEvent
from loyalty.services.commands import CustomerRef, ReportPurchase, ReportRefund
from loyalty.webhooks.parsing import amount_field, currency_field, event_time, load, unix_time_field

SOURCE = "stripe"
optional = {"load_default": None, "allow_none": True}


class _Lenient(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE     # Stripe objects carry many fields we do not read


class Metadata(_Lenient):
    loyalty_customer_id = Text(CustomerRow.id, **optional)


class Expandable(ma.fields.Field):
    """A Stripe reference: an id, or the expanded object with its id; an id fits `column`."""

    def __init__(self, column, **kwargs):
        super().__init__(**kwargs)
        self.most = length_of(column)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            value = value.get("id")
        if value is not None and (not isinstance(value, str) or len(value) > self.most or not storable(value)):
            raise ma.ValidationError(f"Not an id of at most {self.most} storable characters.")
        return value


class CheckoutSession(_Lenient):
    id = Text(Order.order_key, least=1, required=True)
    amount_total = amount_field
    currency = currency_field
    payment_status = ma.fields.String(**optional)
    payment_intent = Expandable(Order.order_key, **optional)
    client_reference_id = Text(CustomerRow.id, **optional)
    customer = Expandable(CustomerRow.stripe_customer_id, **optional)
    metadata = ma.fields.Nested(Metadata, load_default=dict)


class PaymentIntent(_Lenient):
    id = Text(Order.order_key, least=1, required=True)
    amount_received = amount_field
    currency = currency_field
    customer = Expandable(CustomerRow.stripe_customer_id, **optional)
    metadata = ma.fields.Nested(Metadata, load_default=dict)


class Charge(_Lenient):
    id = Text(TimelineEvent.refund_key, least=1, required=True)     # Stripe ids: at most 255
    amount_refunded = amount_field
    currency = currency_field
    payment_intent = Expandable(Order.order_key, **optional)


class Event(_Lenient):
    id = Text(WebhookEvent.event_id, least=1, required=True)
    type = Text(WebhookEvent.type, least=1, required=True)
    created = unix_time_field
    data = ma.fields.Dict(required=True)


# Built once: a schema holds no state between loads, and building one copies every field.
EVENT, CHECKOUT_SESSION, PAYMENT_INTENT, CHARGE = Event(), CheckoutSession(), PaymentIntent(), Charge()


def _customer(*explicit, stripe_customer=None):
    """Who the purchase is for: the first explicit loyalty id, else (decided by the worker,
    which reads the stored customers) the customer enrolled with this Stripe customer, else
    the Stripe customer id itself. None: nobody to credit."""
    chosen = next((value for value in explicit if value), None)
    if chosen is None and not stripe_customer:
        return None
    return CustomerRef(chosen, stripe_customer_id=stripe_customer)


def _object(event, schema):
    data = event["data"].get("object")
    return load(schema, data if isinstance(data, dict) else {})


def command_of(body):
    """(event id, type, command or None for an event we do not consume)."""
    event = load(EVENT, body)
    kind, command = event["type"], None
    if kind == "checkout.session.completed":
        session = _object(event, CHECKOUT_SESSION)
        customer = _customer(session["client_reference_id"], session["metadata"].get("loyalty_customer_id"),
                             stripe_customer=session["customer"])
        if customer and session["payment_status"] in (None, "paid", "no_payment_required"):
            command = ReportPurchase(SOURCE, session["payment_intent"] or session["id"], customer,
                                     event_time(event["created"]), session["amount_total"],
                                     session["currency"].upper())
    elif kind == "payment_intent.succeeded":
        intent = _object(event, PAYMENT_INTENT)
        customer = _customer(intent["metadata"].get("loyalty_customer_id"), stripe_customer=intent["customer"])
        if customer:
            command = ReportPurchase(SOURCE, intent["id"], customer, event_time(event["created"]),
                                     intent["amount_received"], intent["currency"].upper())
    elif kind == "charge.refunded":
        charge = _object(event, CHARGE)
        if charge["payment_intent"]:
            refund_key = fitted_key(f"{charge['id']}:{charge['amount_refunded']}", TimelineEvent.refund_key)
            command = ReportRefund(SOURCE, charge["payment_intent"], refund_key,
                                   event_time(event["created"]), charge["amount_refunded"],
                                   charge["currency"].upper(), cumulative=True)
    return event["id"], kind, command
