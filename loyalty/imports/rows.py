"""What an import row may hold (api.md, "Imports"), and the event an order row becomes.

Rows are checked with the same rules as requests (loyalty/inputs.py: lengths from the
columns, storable text, dates in 1900-2200) and the programme's currency; an order row
becomes the shop webhook's event, recorded with source `import` and an id derived from its
order and refund ids, so a re-run (or a webhook for the same order) counts nothing twice.
"""
import hashlib
import json
import re

import marshmallow as ma

from loyalty import inputs
from loyalty.inputs import Text, fitted_key
from loyalty.models import Customer, Order, TimelineEvent, WebhookEvent
from loyalty.webhooks import shop
from loyalty.webhooks.parsing import FUTURE_TOLERANCE_SECONDS, MAX_AMOUNT

SOURCE = "import"
DIGITS = re.compile(r"-?[0-9]{1,15}")


class MinorUnits(ma.fields.Field):
    """An amount in minor units: an integer, or the digits of one (CSV); never a fraction."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and DIGITS.fullmatch(value.strip()):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise ma.ValidationError("Not an amount in minor units (a whole number).")
        if not 0 <= value <= MAX_AMOUNT:
            raise ma.ValidationError(f"Must be between 0 and {MAX_AMOUNT}.")
        return value


class CustomerRow(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE        # a spreadsheet's extra columns are not an error

    id = Text(Customer.id, least=1, required=True)
    email = inputs.Email(Customer.email, load_default=None, allow_none=True)
    birthday = inputs.Date(load_default=None, allow_none=True)
    stripe_customer_id = Text(Customer.stripe_customer_id, least=1, load_default=None, allow_none=True)


class OrderRow(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE        # a spreadsheet's extra columns are not an error

    type = ma.fields.String(required=True, validate=ma.validate.OneOf(["purchase", "refund"]))
    order_id = Text(Order.order_key, least=1, required=True)
    customer_id = Text(Customer.id, least=1, load_default=None, allow_none=True)
    at = inputs.AwareDateTime(required=True)
    amount = MinorUnits(required=True)
    currency = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[A-Za-z]{3}$"))
    refund_id = Text(TimelineEvent.refund_key, least=1, load_default=None, allow_none=True)
    # A refund's amount is everything refunded on the order so far (Shopify's export).
    cumulative = ma.fields.Boolean(load_default=False)
    lines = ma.fields.List(ma.fields.Nested(shop.Line), load_default=None, allow_none=True,
                           validate=ma.validate.Length(max=1000))

    @ma.validates_schema
    def by_type(self, data, **_):
        if data["type"] == "purchase" and not data.get("customer_id"):
            raise ma.ValidationError({"customer_id": ["A purchase needs its customer."]})
        if data["type"] == "refund":
            if not data.get("refund_id"):
                raise ma.ValidationError({"refund_id": ["A refund needs its id."]})
            if data["amount"] < 1:
                raise ma.ValidationError({"amount": ["A refund is of at least 1."]})
        currency = data["currency"].upper()
        if any(line["amount"]["currency"].upper() != currency for line in data.get("lines") or ()):
            raise ma.ValidationError({"lines": ["Every line must be in the order's currency."]})


CUSTOMER_ROW, ORDER_ROW = CustomerRow(), OrderRow()


def problem(messages):
    """A validation error as one line of a report: `field: message; ...`."""
    parts = []
    for field, found in sorted(messages.items()):
        text = found if isinstance(found, str) else "; ".join(
            m if isinstance(m, str) else str(m) for m in (found.values() if isinstance(found, dict) else found))
        parts.append(f"{field}: {text}")
    return "; ".join(parts)


def customer_of(fields):
    """(the customer's fields, None) or (None, why the row is refused)."""
    try:
        return CUSTOMER_ROW.load(fields), None
    except ma.ValidationError as error:
        return None, problem(error.messages)


def event_of(fields, programme, now):
    """(source, event id, type, the shop webhook's body) or (None, why the row is refused)."""
    try:
        row = ORDER_ROW.load(fields)
    except ma.ValidationError as error:
        return None, problem(error.messages)
    currency = row["currency"].upper()
    if currency != programme.currency:
        return None, f"currency: this programme runs in {programme.currency}, not {currency}"
    if row["at"].timestamp() > now.timestamp() + FUTURE_TOLERANCE_SECONDS:
        return None, "at: dated in the future"
    created, money = int(row["at"].timestamp()), {"amount": row["amount"], "currency": currency}
    if row["type"] == "purchase":
        key, kind = f"purchase:{row['order_id']}", "purchase.completed"
        data = {"customer": {"id": row["customer_id"]},
                "order": {"id": row["order_id"], "total": money, "lines": row["lines"] or []}}
    else:
        key, kind = f"refund:{row['order_id']}:{row['refund_id']}", "purchase.refunded"
        data = {"order": {"id": row["order_id"]}, "refund": {"id": row["refund_id"], "amount": money}}
        if row["cumulative"]:
            data["cumulative"] = True
    event_id = _event_id(key, created, data)
    return (SOURCE, event_id, kind, {"id": event_id, "type": kind, "created": created, "data": data}), None


def _event_id(key, created, data):
    """The order (and refund) id and a digest of what the row says: the same row in a re-run
    is the same event (recorded once); another row for the same order is another event, which
    the applier finds a duplicate of the first (or a conflict, for another customer)."""
    digest = hashlib.sha256(json.dumps([created, data], sort_keys=True).encode("utf-8", "surrogatepass")).hexdigest()
    return fitted_key(f"{key}:{digest[:16]}", WebhookEvent.event_id)
