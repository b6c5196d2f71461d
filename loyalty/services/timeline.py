"""Purchases and refunds take effect in business-time order, whatever order they arrive in.

An event at or after the customer's newest one (the usual case) is evaluated alone, on
the cached standing: its cost does not depend on the customer's history. An event that
arrives late takes its place: the standing just before it is read from the snapshot of
the event before, then it and every event after it are evaluated again, and what changed
for each order is booked as correcting ledger entries. Old entries are never edited.

Spend aging inside such a replay is not re-applied (the replay starts from the snapshot's
qualifying spend); the next in-order event and the tier review read the window afresh.
"""
from dataclasses import dataclass, replace

from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import TimelineEvent
from loyalty.services import ledger, spend
from loyalty.services.snapshots import (net_points, order_from_json, order_state_of, standing_from_json,
                                        standing_of, to_json)
from rules import Line, Purchase, Standing, apply_purchase, apply_refund, in_window, local_date
from rules.currency import format_amount


@dataclass
class Replay:
    standing: Standing
    after: dict       # Order -> OrderState after the last replayed event
    outcomes: dict    # TimelineEvent -> PurchaseOutcome | RefundOutcome


def _others(event):
    """The customer's stored events other than `event` (which is usually not written yet)."""
    others = TimelineEvent.customer_id == event.customer_id
    return others if event.id is None else others & (TimelineEvent.id != event.id)


def _before(event):
    """Events of the same customer that come before `event` in business time."""
    return (select(TimelineEvent).where(_others(event), TimelineEvent.at <= event.at)
            .order_by(TimelineEvent.at.desc(), TimelineEvent.id.desc()).limit(1))


def _starting_point(programme, customer, event):
    late = customer.last_event_at is not None and event.at < customer.last_event_at
    if not late:
        return standing_of(customer, spend.qualifying(programme, customer.id, event.at)), [event]
    base = db.session.scalars(_before(event)).first()
    standing = standing_from_json(base.standing_after) if base else Standing.opening(programme)
    later = db.session.scalars(select(TimelineEvent).where(_others(event), TimelineEvent.at > event.at)
                               .order_by(TimelineEvent.at, TimelineEvent.id)).all()
    return standing, [event, *later]


def _order_state_before(event, order_id):
    previous = db.session.scalars(_before(event).where(TimelineEvent.order_id == order_id)).first()
    return order_from_json(previous.order_after) if previous else None


def _purchase_of(order, at, total):
    lines = tuple(Line(amount=line["amount"], category=line.get("category"), sku=line.get("sku"),
                       quantity=line.get("quantity", 1)) for line in order.lines or ())
    return Purchase(order_id=order.order_key, at=at, total=total, lines=lines)


def _released(programme, order, state, at):
    """An order the release job has made available has no pending points from its
    available date on, whatever an older snapshot says."""
    if state is None or order.released_at is None or local_date(programme, at) < order.available_on:
        return state
    return replace(state, pending=0)


def replay(programme, customer, event):
    """Evaluate `event` and every later event of the customer, in business-time order."""
    standing, steps = _starting_point(programme, customer, event)
    standing = replace(standing, birthday=customer.birthday)
    after, outcomes = {}, {}
    for step in steps:
        order = step.order
        if order not in after:       # a brand-new purchase has no state before it
            new_order = step is event and step.kind == "purchase"
            after[order] = None if new_order else _order_state_before(event, order.id)
        state = _released(programme, order, after[order], step.at)
        if step.kind == "purchase":
            outcome = apply_purchase(programme, standing, _purchase_of(order, step.at, step.amount))
        else:
            refunded = max(state.refunded, step.amount) if step.cumulative else state.refunded + step.amount
            outcome = apply_refund(programme, standing, state, refunded, step.at)
        standing, after[order], outcomes[step] = outcome.standing, outcome.order, outcome
        step.standing_after, step.order_after = to_json(standing), to_json(outcome.order)
    return Replay(standing, after, outcomes)


def _book_own(programme, customer, order, event, outcome):
    """The event's own entries (earn and welcome, or clawback); returns (net, pending) booked."""
    if event.kind == "purchase":
        earning = outcome.earning
        fixed_ids = {bonus.id for bonus in programme.fixed_bonuses}
        reason = f"Purchase {order.order_key}: {format_amount(order.total, order.currency)}"
        ledger.book(customer, "earn", earning.points, "pending", event.at, order=order, reason=reason,
                    rules=[hit for hit in earning.rules if hit.rule not in fixed_ids],
                    version=earning.programme_version, available_on=earning.available_on)
        for hit in earning.rules:
            if hit.rule in fixed_ids:
                ledger.book(customer, "welcome", hit.points, "pending", event.at, order=order,
                            reason=f"Bonus {hit.rule} on purchase {order.order_key}", rules=[hit],
                            version=earning.programme_version, available_on=earning.available_on)
        return earning.total, earning.total
    reason = (f"Refund {event.refund_key} on order {order.order_key}: "
              f"{format_amount(outcome.order.refunded, order.currency)} of {format_amount(order.total, order.currency)}")
    rules = [["refund:proportional", -outcome.clawback + outcome.fixed_removed]]
    if outcome.fixed_removed:
        rules.append(["refund:fixed-bonuses", -outcome.fixed_removed])
    for points, status in ((-outcome.from_pending, "pending"), (-outcome.from_available, "available")):
        ledger.book(customer, "clawback", points, status, event.at, order=order, reason=reason, rules=rules,
                    version=programme.version)
    return -outcome.clawback, -outcome.from_pending


def _store_order(order, state, programme):
    order.points_earned, order.fixed_points = state.points, state.fixed_points
    order.refunded, order.points_clawed_back = state.refunded, state.clawed_back
    order.fixed_removed, order.points_pending = state.fixed_removed, state.pending
    order.programme_version = programme.version


def apply(programme, customer, event):
    """Book what `event` (a new timeline row, with its order) changes, with any corrections
    to later events; update the order rows, spend buckets and the customer. New rows are
    queued for the transaction (services.appends) and loaded rows flushed with it, so each
    is written once, with its final values; spend buckets are added at once."""
    with db.session.no_autoflush:
        result = replay(programme, customer, event)
        _book(programme, customer, event, result)
    return result


def _book(programme, customer, event, result):
    for target, new in result.after.items():
        if target.released_at is not None:
            new = replace(new, pending=0)
        is_new = event.kind == "purchase" and target is event.order
        booked = None if is_new else order_state_of(target)      # what the ledger holds for it now
        old_net, old_pending = (net_points(booked), booked.pending) if booked else (0, 0)
        own_net = own_pending = 0
        if target is event.order:
            own_net, own_pending = _book_own(programme, customer, target, event, result.outcomes[event])
        correction = net_points(new) - old_net - own_net
        pending = new.pending - old_pending - own_pending
        reason = f"Re-evaluated order {target.order_key}: an earlier event arrived late"
        for points, status in ((pending, "pending"), (correction - pending, "available")):
            ledger.book(customer, "correction", points, status, event.at, order=target, reason=reason,
                        rules=new.rules, version=programme.version)
        if is_new:
            spend.add(programme, customer.id, target.placed_at, target.total)
        refunded = new.refunded - (booked.refunded if booked else 0)
        if refunded and in_window(programme, target.placed_at, event.at):
            spend.add(programme, customer.id, target.placed_at, -refunded)
        _store_order(target, new, programme)
    final = result.standing
    customer.tier, customer.tier_since = final.tier, final.tier_since
    customer.tier_floor, customer.floor_since = final.tier_floor, final.floor_since
    customer.lifetime_spend, customer.first_purchase_at = final.lifetime_spend, final.first_purchase_at
    customer.last_event_at = max(customer.last_event_at or event.at, event.at)
