"""Shopify's orders export (Admin > Orders > Export, CSV) as order rows.

The export has one row per line item; an order's rows are consecutive and share `Name`
(`#1001`); its order columns are on its first row (later rows may repeat them or leave
them empty). Read here: Name, Email, Financial Status, Paid at (else Created at), Total,
Currency, Refunded Amount, Lineitem quantity, Lineitem name, Lineitem price, Lineitem sku.

- The customer is the email, unless `--customer-map` (CSV `email,customer_id`) maps it.
- Only paid orders are purchases (`paid`, `partially_paid`, `partially_refunded`,
  `refunded`); others (`pending`, `authorized`, `voided`, ...) are skipped, not refused.
- `Refunded Amount` above zero is everything refunded on the order so far: a cumulative
  refund (id `refunded:<amount>`), so a later export with more refunded takes back the
  difference. The export does not say when it was made, so it is dated at the payment:
  the refunded part never earned points or counted towards a tier (the reading that
  never over-credits).
- Amounts are decimals in the order's currency, turned into exact minor units.
"""
import csv
from datetime import datetime
from decimal import Decimal

from loyalty.imports.files import FileError, Row
from rules.currency import exponent

PAID = {"paid", "partially_paid", "partially_refunded", "refunded"}
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z")


def customer_map(path):
    """email (lower case) -> customer id, from a CSV with columns email, customer_id."""
    if not path:
        return {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            if not {"email", "customer_id"} <= set(reader.fieldnames or ()):
                raise FileError(f"the customer map {path} needs the columns email and customer_id")
            return {row["email"].strip().lower(): row["customer_id"].strip() for row in reader
                    if row.get("email") and row.get("customer_id")}
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise FileError(f"cannot read the customer map {path}: {error}") from None


def order_rows(rows, mapping):
    """Shopify export rows (files.Row, line per line item) -> order rows (files.Row)."""
    group = []
    for row in rows:
        if row.problem is not None:
            yield row
            continue
        if group and row.fields.get("Name") != group[0].fields.get("Name"):
            yield from _order(group, mapping)
            group = []
        group.append(row)
    if group:
        yield from _order(group, mapping)


def _first(group, column):
    return next((row.fields.get(column) for row in group if row.fields.get(column)), None)


def _minor(text, currency):
    """"129.99" in EUR -> 12999; None when it is not an exact amount of that currency."""
    try:
        units = Decimal(text.strip().replace(",", "")) * 10 ** exponent(currency)
        return int(units) if units.is_finite() and units == units.to_integral_value() else None
    except (ArithmeticError, AttributeError):     # InvalidOperation, Overflow
        return None


def _time(text):
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern)
        except (ValueError, AttributeError):
            continue
    return None


def _order(group, mapping):
    line, name = group[0].line, group[0].fields.get("Name")
    status = (_first(group, "Financial Status") or "").strip().lower()
    if status not in PAID:
        yield Row(line, None)                   # not a purchase: skipped
        return
    currency = (_first(group, "Currency") or "").strip().upper()
    email = (_first(group, "Email") or "").strip()
    at = _time(_first(group, "Paid at") or _first(group, "Created at"))
    total = _minor(_first(group, "Total") or "", currency)
    problems = [what for what, bad in [("Name", not name), ("Email", not email), ("Paid at", at is None),
                                       ("Currency", len(currency) != 3), ("Total", total is None)] if bad]
    if problems:
        yield Row(line, None, f"{', '.join(problems)}: missing or not readable")
        return
    lines = []
    for item in group:
        quantity, price = item.fields.get("Lineitem quantity"), _minor(item.fields.get("Lineitem price") or "", currency)
        if not (quantity or "").strip().isdecimal() or not (quantity or "").strip().isascii() or price is None:
            yield Row(item.line, None, "Lineitem quantity or Lineitem price: missing or not readable")
            return
        lines.append({"sku": item.fields.get("Lineitem sku"), "quantity": int(quantity),
                      "amount": {"amount": price * int(quantity), "currency": currency}})
    customer = mapping.get(email.lower(), email)
    when = at.isoformat()
    yield Row(line, {"type": "purchase", "order_id": name, "customer_id": customer, "at": when,
                     "amount": total, "currency": currency, "lines": lines})
    refunded = _minor(_first(group, "Refunded Amount") or "0", currency)
    if refunded is None:
        yield Row(line, None, "Refunded Amount: not readable")
    elif refunded > 0:
        yield Row(line, {"type": "refund", "order_id": name, "refund_id": f"refunded:{refunded}", "at": when,
                         "amount": refunded, "currency": currency, "cumulative": True})
