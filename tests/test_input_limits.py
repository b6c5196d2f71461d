"""Every string that enters has a limit; that limit is the column's that stores it, and it
is the one documented: the served OpenAPI document for /v1, the README for webhooks."""
import re
from pathlib import Path

import marshmallow as ma
import pytest

from loyalty.api import schemas
from loyalty.inputs import Text, length_of
from loyalty.models import (Customer, LedgerEntry, Order, ParkedRefund, Redemption, SupportAction, TimelineEvent,
                            WebhookEvent)
from loyalty.webhooks import shop, stripe_events

REQUEST_SCHEMAS = [schemas.Enrolment, schemas.Page, schemas.QuoteIn, schemas.RedemptionIn, schemas.PriorityIn,
                   schemas.AdjustmentIn, schemas.IdempotencyHeader,
                   shop.Envelope, shop.PurchaseData, shop.RefundData,
                   stripe_events.Event, stripe_events.CheckoutSession, stripe_events.PaymentIntent, stripe_events.Charge]

# Where each entering string is stored: its limit must fit every one of these columns.
STORED_IN = {
    ("Enrolment", "email"): [Customer.email],
    ("Enrolment", "stripe_customer_id"): [Customer.stripe_customer_id],
    ("RedemptionIn", "order_id"): [Redemption.order_id],
    ("PriorityIn", "reason"): [Customer.manual_priority_reason, SupportAction.reason],
    ("AdjustmentIn", "reason"): [SupportAction.reason, LedgerEntry.reason],
    ("IdempotencyHeader", "idempotency_key"): [Redemption.idempotency_key],
    ("Envelope", "id"): [WebhookEvent.event_id], ("Envelope", "type"): [WebhookEvent.type],
    ("Customer", "id"): [Customer.id], ("Customer", "email"): [Customer.email],
    ("Order", "id"): [Order.order_key], ("OrderRef", "id"): [Order.order_key, ParkedRefund.order_key],
    ("Refund", "id"): [TimelineEvent.refund_key, ParkedRefund.refund_key],
    ("Event", "id"): [WebhookEvent.event_id], ("Event", "type"): [WebhookEvent.type],
    ("CheckoutSession", "id"): [Order.order_key], ("CheckoutSession", "client_reference_id"): [Customer.id],
    ("CheckoutSession", "payment_intent"): [Order.order_key],
    ("CheckoutSession", "customer"): [Customer.stripe_customer_id],
    ("PaymentIntent", "id"): [Order.order_key], ("PaymentIntent", "customer"): [Customer.stripe_customer_id],
    ("Metadata", "loyalty_customer_id"): [Customer.id],
    ("Charge", "payment_intent"): [Order.order_key, ParkedRefund.order_key],
}
# Strings read and compared, never stored as given.
NOT_STORED = {("Page", "cursor"), ("Line", "sku"), ("Line", "category"), ("Money", "currency"),
              ("PositiveMoney", "currency"), ("CheckoutSession", "currency"), ("PaymentIntent", "currency"),
              ("Charge", "currency"), ("CheckoutSession", "payment_status"),
              ("Charge", "id")}        # composed into a refund key, fitted to its column


def _string_fields(schema_class, seen=None):
    """(schema name, field name, field) of every string a schema reads, nested schemas too."""
    seen = set() if seen is None else seen
    if schema_class in seen:
        return
    seen.add(schema_class)
    for name, field in schema_class._declared_fields.items():
        inner = field.inner if isinstance(field, ma.fields.List) else field
        if isinstance(inner, ma.fields.Nested):
            yield from _string_fields(type(inner.schema), seen)
        elif isinstance(inner, (ma.fields.String, stripe_events.Expandable)):
            yield schema_class.__name__, name, inner


def _most(field):
    if isinstance(field, stripe_events.Expandable):
        return field.most
    lengths = [v.max for v in field.validators if isinstance(v, ma.validate.Length)]
    return lengths[0] if lengths else None


def _all_string_fields():
    seen = set()
    return [found for schema in REQUEST_SCHEMAS for found in _string_fields(schema, seen)]


def test_every_entering_string_is_bounded_storable_and_fits_where_it_is_stored():
    found = _all_string_fields()
    assert {(schema, name) for schema, name, _ in found} == set(STORED_IN) | NOT_STORED
    for schema, name, field in found:
        most = _most(field)
        if (schema, name) in {("Money", "currency"), ("PositiveMoney", "currency"), ("CheckoutSession", "currency"),
                              ("PaymentIntent", "currency"), ("Charge", "currency"),
                              ("CheckoutSession", "payment_status")}:
            continue        # three letters by pattern; a status compared with a few constants
        assert most is not None, (schema, name)
        if not isinstance(field, stripe_events.Expandable):
            assert isinstance(field, Text), (schema, name)          # so NUL and surrogates are refused too
        for column in STORED_IN.get((schema, name), []):
            assert most <= length_of(column), (schema, name, column)
        if (schema, name) in STORED_IN:
            assert most == length_of(STORED_IN[(schema, name)][0]), (schema, name)


def test_the_openapi_document_gives_each_v1_string_the_limit_of_its_column(client):
    spec = client.get("/openapi.json").get_json()
    components = spec["components"]["schemas"]
    for (schema, name), columns in STORED_IN.items():
        if schema in components:
            assert components[schema]["properties"][name]["maxLength"] == length_of(columns[0]), (schema, name)
    documented = {(p["in"], p["name"]): p["schema"] for ops in spec["paths"].values() for op in ops.values()
                  if isinstance(op, dict) for p in op.get("parameters", [])}
    documented.update({(p["in"], p["name"]): p["schema"] for ops in spec["paths"].values()
                       for p in ops.get("parameters", []) if isinstance(ops, dict)})
    assert documented[("path", "customer_id")]["maxLength"] == length_of(Customer.id)
    assert documented[("path", "event_id")]["maxLength"] == length_of(WebhookEvent.event_id)
    assert documented[("header", "Idempotency-Key")]["maxLength"] == length_of(Redemption.idempotency_key)
    assert documented[("query", "cursor")]["maxLength"] == 64


def _readme_webhook_limits():
    text = (Path(__file__).parent.parent / "README.md").read_text()
    section = text.split("## Input limits", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (both|shop|stripe) \| (.+?) \| (\d+)", section, re.MULTILINE)
    return {(source, field): int(most) for source, field, most in rows}


README_FIELDS = {
    ("both", "event `id`"): [("Envelope", "id"), ("Event", "id")],
    ("both", "event `type`"): [("Envelope", "type"), ("Event", "type")],
    ("shop", "`data.customer.id`"): [("Customer", "id")],
    ("shop", "`data.customer.email`"): [("Customer", "email")],
    ("shop", "`data.order.id`"): [("Order", "id"), ("OrderRef", "id")],
    ("shop", "`data.order.lines[].sku`, `data.order.lines[].category`"): [("Line", "sku"), ("Line", "category")],
    ("shop", "`data.refund.id`"): [("Refund", "id")],
    ("stripe", "session, payment intent and charge `id`; `payment_intent`; `customer`"): [
        ("CheckoutSession", "id"), ("PaymentIntent", "id"), ("Charge", "id"), ("CheckoutSession", "payment_intent"),
        ("Charge", "payment_intent"), ("CheckoutSession", "customer"), ("PaymentIntent", "customer")],
    ("stripe", "`client_reference_id`, `metadata.loyalty_customer_id`"): [
        ("CheckoutSession", "client_reference_id"), ("Metadata", "loyalty_customer_id")],
}


def test_the_readme_documents_each_webhook_fields_limit_as_the_schema_enforces_it():
    documented, fields = _readme_webhook_limits(), {(s, n): f for s, n, f in _all_string_fields()}
    assert set(documented) == set(README_FIELDS)
    for row, members in README_FIELDS.items():
        for member in members:
            assert _most(fields[member]) == documented[row], (row, member)


@pytest.mark.parametrize("column", [Customer.id, Order.order_key, WebhookEvent.event_id, TimelineEvent.refund_key])
def test_ids_stripe_may_make_long_have_columns_that_fit_stripes_255(column):
    assert length_of(column) >= 255
