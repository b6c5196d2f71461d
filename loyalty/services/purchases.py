"""Recording purchases and refunds reported by webhooks.

A purchase is one order, whatever number of events report it (Stripe's checkout session
and payment intent both name the payment intent). A refund of an order not seen yet is
parked and applied when the purchase arrives. Each shop refund id counts once; Stripe's
cumulative `amount_refunded` makes a stale refund event change nothing.
"""
from sqlalchemy import bindparam, select

from loyalty.errors import LoyaltyError
from loyalty.extensions import core, db
from loyalty.models import Order, ParkedRefund, TimelineEvent
from loyalty.services import appends, customers, timeline
from rules import available_on


def _check_currency(programme, currency):
    if currency != programme.currency:
        raise LoyaltyError(422, "currency_mismatch",
                           f"This programme runs in {programme.currency}, not {currency}.",
                           {"currency": currency, "programme_currency": programme.currency})


def _of_order_key(model):
    """`model`'s rows about the order named by the `source` and `order_key` parameters."""
    return (model.source == bindparam("source")) & (model.order_key == bindparam("order_key"))


_ORDER = select(Order).where(_of_order_key(Order))
# What a new purchase needs to know about its order id, in one statement: whose order it
# already is (None: a new order), and whether refunds of it arrived first and were parked.
_SEEN = select(select(Order.customer_id).where(_of_order_key(Order)).scalar_subquery(),
               select(ParkedRefund.id).where(_of_order_key(ParkedRefund)).exists())
_PARKED = select(ParkedRefund).where(_of_order_key(ParkedRefund)).order_by(ParkedRefund.at, ParkedRefund.id)
_PARKED_ONE = select(ParkedRefund.id).where(_of_order_key(ParkedRefund),
                                            ParkedRefund.refund_key == bindparam("refund_key"))


def _order(source, order_key):
    return db.session.scalars(_ORDER, {"source": source, "order_key": order_key}).first()


def record_purchase(programme, command):
    """Count a purchase once; answers the outcome stored with the webhook event."""
    _check_currency(programme, command.currency)
    ref = command.customer
    customers.lock_order_key(command.source, command.order_key)
    customer = customers.enrol(ref.id, programme, email=ref.email, birthday=ref.birthday,
                               stripe_customer_id=ref.stripe_customer_id)
    key = {"source": command.source, "order_key": command.order_key}
    owner, parked = core(_SEEN, key).one()      # read under the order key's lock
    if owner is not None:
        if owner != ref.id:
            raise LoyaltyError(409, "order_conflict", "This order id already belongs to another customer.",
                               {"order_id": command.order_key})
        return "duplicate"
    order = appends.add(Order(customer_id=customer.id, source=command.source, order_key=command.order_key,
                              placed_at=command.at, currency=command.currency, total=command.total,
                              lines=[dict(line) for line in command.lines],
                              available_on=available_on(programme, command.at), programme_version=programme.version))
    _apply(programme, customer, order, TimelineEvent(kind="purchase", at=command.at, amount=command.total))
    if parked:     # the refunds below read the purchase back and update the order row
        appends.write()
        order = db.session.get(Order, order.id)
        for refund in db.session.scalars(_PARKED, key).all():
            _refund(programme, customer, order, refund.refund_key, refund.at, refund.amount, refund.cumulative)
            db.session.delete(refund)
    return "processed"


def record_refund(programme, command):
    _check_currency(programme, command.currency)
    customers.lock_order_key(command.source, command.order_key)
    order = _order(command.source, command.order_key)
    if order is None:
        return _park(command)
    customer = customers.lock(order.customer_id)
    return _refund(programme, customer, order, command.refund_key, command.at, command.amount, command.cumulative)


def _park(command):
    duplicate = db.session.scalars(_PARKED_ONE, {"source": command.source, "order_key": command.order_key,
                                                 "refund_key": command.refund_key}).first()
    if duplicate is None:
        db.session.add(ParkedRefund(source=command.source, order_key=command.order_key,
                                    refund_key=command.refund_key, at=command.at, amount=command.amount,
                                    cumulative=command.cumulative, currency=command.currency))
    return "parked" if duplicate is None else "duplicate"


def _refund(programme, customer, order, refund_key, at, amount, cumulative):
    seen = db.session.scalars(select(TimelineEvent.id).where(
        TimelineEvent.order_id == order.id, TimelineEvent.refund_key == refund_key)).first()
    if seen is not None:
        return "duplicate"
    at = max(at, order.placed_at)   # a refund never takes effect before its purchase
    _apply(programme, customer, order, TimelineEvent(kind="refund", at=at, amount=amount,
                                                     cumulative=cumulative, refund_key=refund_key))
    return "processed"


def _apply(programme, customer, order, event):
    """Evaluate `event` in its place; it and the rows it books are queued (services.appends)
    and written with the transaction."""
    event.customer_id, event.order = customer.id, order
    timeline.apply(programme, customer, event)
    appends.add(event)
