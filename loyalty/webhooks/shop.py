"""The shop webhook (`POST /webhooks/shop`) for checkouts that do not use Stripe:
`purchase.completed` and `purchase.refunded`, in the format of api.md."""
import marshmallow as ma
from marshmallow import validate

from loyalty import inputs
from loyalty.inputs import Text
from loyalty.models import Customer as CustomerRow
from loyalty.models import Order as OrderRow
from loyalty.models import TimelineEvent, WebhookEvent
from loyalty.services.commands import CustomerRef, ReportPurchase, ReportRefund
from loyalty.webhooks import shop_fast_path
from loyalty.webhooks.parsing import MAX_AMOUNT, amount_field, currency_field, event_time, load, unix_time_field

SOURCE = "shop"


class Money(ma.Schema):
    amount = amount_field
    currency = currency_field


class PositiveMoney(Money):
    amount = ma.fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_AMOUNT))


class Customer(ma.Schema):
    id = Text(CustomerRow.id, least=1, required=True)
    email = inputs.Email(CustomerRow.email, load_default=None, allow_none=True)
    birthday = inputs.Date(load_default=None, allow_none=True)


class Line(ma.Schema):
    sku = Text(most=255, load_default=None, allow_none=True)
    category = Text(most=255, load_default=None, allow_none=True)
    quantity = ma.fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 1_000_000))
    amount = ma.fields.Nested(Money, required=True)


class Order(ma.Schema):
    id = Text(OrderRow.order_key, least=1, required=True)
    total = ma.fields.Nested(Money, required=True)
    lines = ma.fields.List(ma.fields.Nested(Line), load_default=list, validate=validate.Length(max=1000))


class OrderRef(ma.Schema):
    id = Text(OrderRow.order_key, least=1, required=True)


class Refund(ma.Schema):
    id = Text(TimelineEvent.refund_key, least=1, required=True)
    amount = ma.fields.Nested(PositiveMoney, required=True)


class PurchaseData(ma.Schema):
    customer = ma.fields.Nested(Customer, required=True)
    order = ma.fields.Nested(Order, required=True)

    @ma.validates_schema
    def lines_in_the_order_currency(self, data, **_):
        currency = data["order"]["total"]["currency"].upper()
        if any(line["amount"]["currency"].upper() != currency for line in data["order"]["lines"]):
            raise ma.ValidationError({"order": {"lines": ["Every line must be in the order's currency."]}})


class RefundData(ma.Schema):
    order = ma.fields.Nested(OrderRef, required=True)
    refund = ma.fields.Nested(Refund, required=True)


class Envelope(ma.Schema):
    id = Text(WebhookEvent.event_id, least=1, required=True)
    type = Text(WebhookEvent.type, least=1, required=True)
    created = unix_time_field
    data = ma.fields.Dict(required=True)


# Built once: a schema holds no state between loads, and building one copies every field.
ENVELOPE, PURCHASE, REFUND = Envelope(), PurchaseData(), RefundData()


def command_of(body):
    """(event id, type, command or None for a type we do not consume)."""
    plain = shop_fast_path.purchase(body)      # the common purchase, read without the schemas
    return plain if plain is not None else schema_command_of(body)


def schema_command_of(body):
    """`command_of` through the schemas: any body, each error worded."""
    envelope = load(ENVELOPE, body)
    kind = envelope["type"]
    if kind == "purchase.completed":
        data = load(PURCHASE, envelope["data"])
        customer, order = data["customer"], data["order"]
        currency = order["total"]["currency"].upper()
        lines = tuple({"sku": line["sku"], "category": line["category"], "quantity": line["quantity"],
                       "amount": line["amount"]["amount"]} for line in order["lines"])
        command = ReportPurchase(
            source=SOURCE, order_key=order["id"], at=event_time(envelope["created"]),
            customer=CustomerRef(customer["id"], email=customer["email"], birthday=customer["birthday"]),
            total=order["total"]["amount"], currency=currency, lines=lines)
    elif kind == "purchase.refunded":
        data = load(REFUND, envelope["data"])
        refund = data["refund"]
        command = ReportRefund(source=SOURCE, order_key=data["order"]["id"], refund_key=refund["id"],
                               at=event_time(envelope["created"]), amount=refund["amount"]["amount"],
                               currency=refund["amount"]["currency"].upper())
    else:
        command = None
    return envelope["id"], kind, command
