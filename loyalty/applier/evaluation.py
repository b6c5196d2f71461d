"""One customer's part of a batch, evaluated by `rules/` in business-time order.

In order (the usual case: every new step at or after the customer's newest stored one):
start from the cached standing and evaluate the new steps one after another, each with
the qualifying spend of its own moment (the spend buckets read for the batch plus what
the steps before it added). Its cost does not depend on the customer's history.

Late (a new step before the newest stored one: a delayed webhook, a till syncing, an
import): start from the snapshot of the stored step just before it, and evaluate it and
every later step, stored or new, again, each with the qualifying spend of its moment (the
spend buckets as the steps before the replay left them, plus what each replayed step
adds). What changed for each order is booked as correcting ledger entries; old entries
are never edited. Either way the end state does not depend on the order events arrive in.

Each order's entries add up to what the order has given: its own entries (earn and
welcome for a purchase, clawbacks for a refund) plus a correction for any difference.
"""
from dataclasses import replace

from loyalty.applier.batch import Outcome
from loyalty.inputs import clip
from loyalty.models import LedgerEntry
from loyalty.services.snapshots import net_points, to_json
from rules import Line, Purchase, apply_purchase, apply_refund, in_window, local_date, window_start
from rules.currency import format_amount
from rules.standing import evolve


def step_order(step):
    """Business time; at the same moment stored steps first, then purchases before refunds."""
    return (step.at, step.is_new, step.kind != "purchase", step.id or 0)


def qualifying(programme, buckets, at):
    """Net spend of the trailing window as of `at`, from a customer's buckets (day -> amount)."""
    start, end = window_start(programme, at), local_date(programme, at)
    return sum(amount for day, amount in buckets.items() if start <= day <= end)


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


def refund_capped(order, beyond):
    """Applied, and saying so: the refunds reported on the order add up to more than its total."""
    return Outcome("processed", "refund_capped",
                   f"Refunds on order {order.order_key} come to {format_amount(beyond, order.currency)} more than its "
                   f"total of {format_amount(order.total, order.currency)}; they count up to the total.")


def _evaluate(versions, standing, steps, states, buckets, snapshots=True):
    """Run `steps` through the rules, each under the version of `versions` (a ProgrammeBook) in force at its own
    moment; answers the final standing and each step's outcome. `states`: order -> state
    before the first step (updated in place); `buckets` gives each step the qualifying spend
    of its moment (updated in place too). With `snapshots`, each step keeps the standing and
    order state after it as JSON (what the timeline stores)."""
    outcomes = {}
    for step in steps:
        order, programme = step.order, versions.at(step.at)
        standing = evolve(standing, qualifying_spend=qualifying(programme, buckets, step.at))
        state = _released(programme, order, states.get(order), step.at)
        if step.kind == "purchase":
            outcome = apply_purchase(programme, standing, _purchase_of(order, step.at, step.amount))
            order.version = programme.version
            day = local_date(programme, order.placed_at)
            buckets[day] = buckets.get(day, 0) + outcome.order.counted_spend
        else:
            refunded = max(state.refunded, step.amount) if step.cumulative else state.refunded + step.amount
            outcome = apply_refund(programme, standing, state, refunded, step.at)
            if outcome.beyond_order and step.event is not None:
                step.event.outcome = refund_capped(order, outcome.beyond_order)
            if in_window(programme, order.placed_at, step.at):
                day = local_date(programme, order.placed_at)
                buckets[day] = buckets.get(day, 0) - outcome.spend_drop
        standing, states[order], outcomes[step] = outcome.standing, outcome.order, outcome
        if snapshots:
            step.standing_after, step.order_after = to_json(standing), to_json(outcome.order)
    return standing, outcomes


def evaluate_customer(versions, account, new_steps, plan, buckets=None, replay=None):
    """Evaluate a customer's new steps, each under the version of `versions` (a ProgrammeBook) in force at its
    moment, and book the result into `plan`.

    `replay` (late): (standing before, stored steps after it, order -> state before, spend
    buckets before). Otherwise `buckets` holds the customer's spend buckets for the batch's
    dates."""
    new_steps = sorted(new_steps, key=step_order)
    if replay is None:
        standing, steps, states = account.standing, new_steps, {}
        for step in steps:
            if step.order.booked is not None:
                states.setdefault(step.order, step.order.booked)
    else:
        standing, stored, states, buckets = replay
        steps = sorted([*stored, *new_steps], key=step_order)
        plan.replayed_steps.extend(stored)
    standing = replace(standing, birthday=account.standing.birthday)
    final, outcomes = _evaluate(versions, standing, steps, states, buckets)
    booked_at = new_steps[-1].at
    _book(versions, account, new_steps, states, outcomes, booked_at, plan)
    account.standing = replace(final, points_pending=account.standing.points_pending,
                               points_available=account.standing.points_available,
                               qualifying_spend=0, birthday=account.standing.birthday)
    latest = max(step.at for step in new_steps)
    account.last_event_at = latest if account.last_event_at is None else max(account.last_event_at, latest)
    plan.new_steps.extend(new_steps)


def _book(versions, account, new_steps, states, outcomes, at, plan):
    """Entries for what each touched order now gives, spend buckets, the order rows.
    Corrections come from the earliest new step (the late one that made the replay) and
    name the version the order's purchase is evaluated under."""
    own, late_source, programme = {}, source_of(new_steps[0]), versions.at(at)
    for step in new_steps:
        net, pending = _book_own(versions.at(step.at), account, step, outcomes[step], plan)
        before = own.get(step.order, (0, 0))
        own[step.order] = (before[0] + net, before[1] + pending)
    for order, new in states.items():
        if order.released_at is not None:
            new = replace(new, pending=0)
        booked = order.booked
        old_net, old_pending = (net_points(booked), booked.pending) if booked else (0, 0)
        own_net, own_pending = own.get(order, (0, 0))
        correction = net_points(new) - old_net - own_net
        pending = new.pending - old_pending - own_pending
        reason = f"Re-evaluated order {order.order_key}: an earlier event arrived late"
        for points, status in ((pending, "pending"), (correction - pending, "available")):
            book(programme, plan, account, "correction", points, status, at, source=late_source, order=order,
                 reason=reason, rules=new.rules, version=versions.at(order.placed_at).version)
        _book_spend(programme, plan, account, order, booked, new, at)
        order.final = new
        (plan.new_orders if order.id is None else plan.changed_orders).append(order)


def _book_spend(programme, plan, account, order, booked, new, at):
    """Move the spend bucket of the order's day by the change in its counted net between what
    was booked and its new state: the counted purchase (a new order's; for an order booked
    when excluded lines still counted, the correction its re-evaluation makes), less what
    refunds now take off it, when made while the purchase is in the window."""
    day = local_date(programme, order.placed_at)
    counted_before = booked.counted_spend if booked else 0
    refunds_before = booked.counted_spend - booked.counted_net if booked else 0
    plan.add_spend(account.id, day, new.counted_spend - counted_before)
    refunds = (new.counted_spend - new.counted_net) - refunds_before
    if refunds and in_window(programme, order.placed_at, at):
        plan.add_spend(account.id, day, -refunds)


def _book_own(programme, account, step, outcome, plan):
    """The step's own entries (earn and welcome, or clawback); answers (net, pending) booked."""
    order = step.order
    if step.kind == "purchase":
        earning = outcome.earning
        fixed_ids = {bonus.id for bonus in programme.fixed_bonuses}
        reason = f"Purchase {order.order_key}: {format_amount(order.total, order.currency)}"
        book(programme, plan, account, "earn", earning.points, "pending", step.at, source=source_of(step),
             order=order, reason=reason,
             rules=[hit for hit in earning.rules if hit.rule not in fixed_ids],
             version=earning.programme_version, available_on=earning.available_on)
        for hit in earning.rules:
            if hit.rule in fixed_ids:
                book(programme, plan, account, "welcome", hit.points, "pending", step.at, source=source_of(step),
                     order=order,
                     reason=f"Bonus {hit.rule} on purchase {order.order_key}", rules=[hit],
                     version=earning.programme_version, available_on=earning.available_on)
        return earning.total, earning.total
    reason = (f"Refund {step.refund_key} on order {order.order_key}: "
              f"{format_amount(outcome.order.refunded, order.currency)} of {format_amount(order.total, order.currency)}")
    rules = [["refund:proportional", -outcome.clawback + outcome.fixed_removed]]
    if outcome.fixed_removed:
        rules.append(["refund:fixed-bonuses", -outcome.fixed_removed])
    for points, status in ((-outcome.from_pending, "pending"), (-outcome.from_available, "available")):
        book(programme, plan, account, "clawback", points, status, step.at, source=source_of(step), order=order,
             reason=reason,
             rules=rules, version=programme.version)
    return -outcome.clawback, -outcome.from_pending


def source_of(step):
    """The inbox source of the event that brought a step (a parked refund's: its order's)."""
    return step.event.source if step.event is not None else step.order.source


def book(programme, plan, account, kind, points, status, at, *, source, order=None, reason="", rules=(),
         version=None, available_on=None):
    """Plan one ledger entry and move the account's cached balance with it (nothing for 0)."""
    if points == 0:
        return
    if status == "available" and points > 0 and available_on is None:
        available_on = local_date(programme, at)      # a lot: it expires counted from this date
    plan.entries.append({
        "customer_id": account.id, "order": order, "kind": kind, "points": points, "status": status, "at": at,
        "available_on": available_on, "reason": clip(reason, LedgerEntry.reason), "programme_version": version,
        "source": source,
        "rules": [list(hit) if isinstance(hit, (list, tuple)) else [hit.rule, hit.points] for hit in rules]})
    field = "points_pending" if status == "pending" else "points_available"
    account.standing = replace(account.standing, **{field: getattr(account.standing, field) + points})
