"""Reading an imported event in the worker: the shop webhook's body, as `loyalty import`
wrote it after checking its row (loyalty/imports/rows.py: the same field rules as the
webhook, the programme's currency, no future date).

Those checks are not run a second time: the body is read straight into its command,
which costs a tenth of the webhook's schema. A body that is not what the importer writes
(edited in the database, say) fails visibly as `invalid_event`, never silently.
"""
from datetime import datetime, timezone

from loyalty.errors import LoyaltyError
from loyalty.services.commands import CustomerRef, ReportPurchase, ReportRefund
from loyalty.webhooks import shop


def command_of(body):
    """(event id, type, command), as the webhook parsers answer."""
    try:
        kind, data = body["type"], body["data"]
        at = datetime.fromtimestamp(body["created"], tz=timezone.utc)
        if kind == "purchase.completed":
            order, total = data["order"], data["order"]["total"]
            lines = tuple({"sku": line.get("sku"), "category": line.get("category"), "quantity": line["quantity"],
                           "amount": line["amount"]["amount"]} for line in order["lines"])
            command = ReportPurchase(source=shop.SOURCE, order_key=order["id"], at=at,
                                     customer=CustomerRef(data["customer"]["id"]), total=total["amount"],
                                     currency=total["currency"], lines=lines)
        elif kind == "purchase.refunded":
            refund = data["refund"]
            command = ReportRefund(source=shop.SOURCE, order_key=data["order"]["id"], refund_key=refund["id"], at=at,
                                   amount=refund["amount"]["amount"], currency=refund["amount"]["currency"],
                                   cumulative=data.get("cumulative") is True)
        else:
            raise KeyError(kind)
        return body["id"], kind, command
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise LoyaltyError(422, "invalid_event", "The stored event is not one `loyalty import` writes.") from None
