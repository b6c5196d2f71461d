"""The common shop purchase read without marshmallow: the webhook's hottest check, taken
at every request and again by the worker.

A `purchase.completed` body made only of what the schema knows, every value of its plain
type and within its limits, is read straight into its command (about a tenth of the
schema's CPU). Anything else (an unknown key, a wrong type, a value out of range, an
email or a birthday to check, a refund) answers None, and the schema reads the body and
words the error. So this path may only ever accept what `shop.PURCHASE` accepts, with the
same result; tests/test_shop_fast_path.py holds the two equal on generated bodies.
"""
import re

from loyalty.inputs import length_of, storable
from loyalty.models import Customer, Order, WebhookEvent
from loyalty.services.commands import CustomerRef, ReportPurchase
from loyalty.webhooks.parsing import MAX_AMOUNT, event_time

ENVELOPE_KEYS = frozenset(("id", "type", "created", "data"))
DATA_KEYS = frozenset(("customer", "order"))
CUSTOMER_KEYS = frozenset(("id", "email", "birthday"))
ORDER_KEYS = frozenset(("id", "total", "lines"))
MONEY_KEYS = frozenset(("amount", "currency"))
LINE_KEYS = frozenset(("sku", "category", "quantity", "amount"))
MOST_LINES, MOST_LINE_TEXT, MOST_QUANTITY, LATEST_CREATED = 1000, 255, 1_000_000, 2**40
CURRENCY = re.compile("[A-Za-z]{3}")


def _text(value, least, most):
    return type(value) is str and least <= len(value) <= most and storable(value)


def _count(value, least, most):
    return type(value) is int and least <= value <= most


def _money(value):
    """The amount and the currency (upper case) of a plain money object, else None."""
    if type(value) is not dict or value.keys() != MONEY_KEYS:
        return None
    amount, currency = value["amount"], value["currency"]
    if not _count(amount, 0, MAX_AMOUNT) or type(currency) is not str or not CURRENCY.fullmatch(currency):
        return None
    return amount, currency.upper()


def _line(value, currency):
    if type(value) is not dict or not value.keys() <= LINE_KEYS or "amount" not in value:
        return None
    sku, category, quantity = value.get("sku"), value.get("category"), value.get("quantity", 1)
    money = _money(value["amount"])
    if (money is None or money[1] != currency or not _count(quantity, 1, MOST_QUANTITY)
            or not (sku is None or _text(sku, 0, MOST_LINE_TEXT))
            or not (category is None or _text(category, 0, MOST_LINE_TEXT))):
        return None
    return {"sku": sku, "category": category, "quantity": quantity, "amount": money[0]}


def purchase(body):
    """(event id, type, command) of a plain `purchase.completed` body, else None."""
    if type(body) is not dict or body.keys() != ENVELOPE_KEYS or body["type"] != "purchase.completed":
        return None
    event_id, created, data = body["id"], body["created"], body["data"]
    if (not _text(event_id, 1, length_of(WebhookEvent.event_id)) or not _count(created, 0, LATEST_CREATED)
            or type(data) is not dict or data.keys() != DATA_KEYS):
        return None
    customer, order = data["customer"], data["order"]
    if (type(customer) is not dict or customer.get("email") is not None or customer.get("birthday") is not None
            or not customer.keys() <= CUSTOMER_KEYS or not _text(customer.get("id"), 1, length_of(Customer.id))):
        return None
    if (type(order) is not dict or not order.keys() <= ORDER_KEYS or "total" not in order
            or not _text(order.get("id"), 1, length_of(Order.order_key))):
        return None
    total, lines = _money(order["total"]), order.get("lines", [])
    if total is None or type(lines) is not list or len(lines) > MOST_LINES:
        return None
    read = tuple(_line(line, total[1]) for line in lines)
    if None in read:
        return None
    return event_id, "purchase.completed", ReportPurchase(
        source="shop", order_key=order["id"], at=event_time(created), customer=CustomerRef(customer["id"]),
        total=total[0], currency=total[1], lines=read)
