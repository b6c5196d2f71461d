"""Where each event of a batch goes: which customer and order, and whether it is new, a
duplicate, a conflict, or a refund to park until its purchase comes.

- A purchase is one order however many events report it: the first event (in the order
  received) counts, later ones are `duplicate`; the same order id for another customer
  is `failed` with `order_conflict`.
- A refund finds its order among the stored ones or the batch's new purchases; with
  neither it is parked (`parked`) and applied when the purchase arrives. Each refund key
  counts once (a Stripe refund's key is the charge and its cumulative refunded amount).
- Stripe purchases without an explicit loyalty id go to the customer enrolled with the
  Stripe customer, else to the Stripe customer id itself; with both, the Stripe customer
  is linked to the loyalty customer when nobody has it yet.
"""
from collections import defaultdict

from loyalty.applier import reading
from loyalty.applier.batch import DUPLICATE, PARKED, PROCESSED, OrderRow, Outcome, Step
from loyalty.services.commands import ReportPurchase
from rules import available_on


def _key(command):
    return command.source, command.order_key


def route(session, book, events, plan, now):
    """Lock and read what the batch's events touch; answers (accounts by id, new steps by
    customer id, stored orders by id). `book`: the programme versions over time."""
    live = [event for event in events if event.outcome is None]
    purchases = [event for event in live if isinstance(event.command, ReportPurchase)]
    refunds = [event for event in live if not isinstance(event.command, ReportPurchase)]
    keys = {_key(event.command) for event in live}
    reading.lock_order_keys(session, keys)
    claims = reading.order_claims(session, keys)
    parked = reading.parked_refunds(session, keys - set(claims))
    owners = reading.stripe_owners(session, {event.command.customer.stripe_customer_id for event in purchases
                                             if event.command.customer.stripe_customer_id})

    customer_of, buyers, new_claims, links = {}, {}, {}, {}
    for event in purchases:
        ref = event.command.customer
        stripe_id = ref.stripe_customer_id
        customer_id = ref.id or owners.get(stripe_id) or stripe_id
        key = _key(event.command)
        owner = claims[key][1] if key in claims else new_claims.get(key, (None,))[0]
        if owner is not None and owner != customer_id:
            event.outcome = Outcome("failed", "order_conflict", "This order id already belongs to another customer.")
            continue
        buyers[event] = customer_id
        if ref.id and stripe_id and stripe_id not in owners:
            owners[stripe_id], links[ref.id] = ref.id, stripe_id
        if owner is not None:
            event.outcome = DUPLICATE
            continue
        new_claims[key] = (customer_id, event)
        customer_of[event] = customer_id
    to_park = []
    for event in refunds:
        key = _key(event.command)
        if key in claims:
            customer_of[event] = claims[key][1]
        elif key in new_claims:
            customer_of[event] = new_claims[key][0]
        else:
            to_park.append(event)
    _park(to_park, parked, plan)

    enrol = set(buyers.values())
    others = {customer_of[event] for event in refunds if event in customer_of}
    accounts = reading.lock_accounts(session, book.at(now), enrol, others, now)
    for event, customer_id in buyers.items():
        accounts[customer_id].profile(event.command.customer)
    for customer_id, stripe_id in links.items():
        accounts[customer_id].stripe_customer_id = stripe_id

    stored = reading.orders(session, {claims[_key(event.command)][0] for event in refunds
                                      if _key(event.command) in claims})
    steps = _steps(book, purchases, refunds, customer_of, claims, stored, parked, plan,
                   reading.refunds_seen(session, {(claims[_key(e.command)][0], e.command.refund_key)
                                                  for e in refunds if _key(e.command) in claims}))
    return accounts, steps, stored


def _park(events, parked, plan):
    """Refunds of orders not seen yet: kept until the purchase comes (each refund key once)."""
    known = {(source_key, row.refund_key) for source_key, rows in parked.items() for row in rows}
    for event in events:
        command = event.command
        pair = (_key(command), command.refund_key)
        if pair in known:
            event.outcome = DUPLICATE
            continue
        known.add(pair)
        plan.parked.append({"source": command.source, "order_key": command.order_key,
                            "refund_key": command.refund_key, "at": command.at, "amount": command.amount,
                            "cumulative": command.cumulative, "currency": command.currency,
                            "event_id": event.row_id})
        event.outcome = PARKED


def _steps(book, purchases, refunds, customer_of, claims, stored, parked, plan, seen):
    """The new timeline steps of each customer: purchases (with the refunds parked for them)
    and refunds, each refund key once."""
    steps, new_orders, seen_new = defaultdict(list), {}, set()
    for event in purchases:
        if event not in customer_of:
            continue
        command, customer_id = event.command, customer_of[event]
        order = OrderRow(customer_id=customer_id, source=command.source, order_key=command.order_key,
                         placed_at=command.at, currency=command.currency, total=command.total,
                         lines=[dict(line) for line in command.lines], available_on=available_on(book.at(command.at), command.at))
        new_orders[_key(command)] = order
        steps[customer_id].append(Step(order, "purchase", command.at, command.total, event=event))
        event.outcome = PROCESSED
        for refund in parked.get(_key(command), ()):
            seen_new.add((_key(command), refund.refund_key))
            steps[customer_id].append(Step(order, "refund", max(refund.at, command.at), refund.amount,
                                           refund.cumulative, refund.refund_key, parked_id=refund.id))
            plan.unparked.append(refund.id)
            if refund.event_id is not None:
                plan.outcomes[refund.event_id] = PROCESSED
    for event in refunds:
        if event not in customer_of:
            continue
        command, key = event.command, _key(event.command)
        order = new_orders.get(key) or stored[claims[key][0]]
        if (key, command.refund_key) in seen_new or (order.id, command.refund_key) in seen:
            event.outcome = DUPLICATE
            continue
        seen_new.add((key, command.refund_key))
        steps[customer_of[event]].append(Step(order, "refund", max(command.at, order.placed_at), command.amount,
                                              command.cumulative, command.refund_key, event=event))
        event.outcome = PROCESSED
    return steps
