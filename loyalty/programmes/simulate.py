"""Simulate: a purchase evaluated under any version, for a customer's real standing (as of
the purchase time), a standing given inline, or a new customer. Nothing is written.

It evaluates the purchase as the applier evaluates one at that moment: the customer's
standing from the timeline just before it, with the qualifying spend of that moment."""
from datetime import timedelta

from loyalty.applier import reading
from loyalty.applier.evaluation import qualifying
from loyalty.errors import LoyaltyError
from loyalty.programme import programme_book
from loyalty.programmes import documents, store
from loyalty.services.balances import manual_priority, money, read_standing
from loyalty.services.snapshots import standing_from_json
from rules import Line, Purchase, Standing
from rules.currency import format_amount
from rules.explain import explain_purchase
from rules.standing import evolve


def _purchase(programme, order, at):
    currency = order["total"]["currency"].upper()
    if currency != programme.currency:
        raise LoyaltyError(422, "currency_mismatch", f"This programme runs in {programme.currency}, not {currency}.",
                           {"currency": currency, "programme_currency": programme.currency})
    if any(line["amount"]["currency"].upper() != currency for line in order["lines"]):
        raise LoyaltyError(422, "invalid_request", "Every line must be in the order's currency.")
    lines = tuple(Line(amount=line["amount"]["amount"], category=line["category"], sku=line["sku"],
                       quantity=line["quantity"]) for line in order["lines"])
    return Purchase(order_id=order["id"], at=at, total=order["total"]["amount"], lines=lines)


def _standing_of_customer(session, programme, customer_id, at):
    """The customer's standing just before `at`, as the applier would evaluate a purchase at
    `at` (however late it arrived): the timeline's snapshot of their last step before it,
    and the qualifying spend the stored steps before it left. A past `at` explains a past
    purchase: the standing then, not now."""
    row = read_standing(programme, customer_id, at)         # 404 for an unknown customer
    before = at - timedelta(microseconds=1)                  # steps at `at` itself come after
    base = session.execute(reading.BASE, {"customer_id": customer_id, "since": before}).scalar()
    standing = standing_from_json(base) if base is not None else Standing.opening(programme)
    buckets = reading.spend_before(session, programme_book(), customer_id, before)
    standing = evolve(standing, birthday=row.birthday, qualifying_spend=qualifying(programme, buckets, at))
    return standing, manual_priority(row), row.id


def _standing(session, programme, body, at):
    """(standing, manual priority, customer id or None)."""
    if body.get("customer_id"):
        return _standing_of_customer(session, programme, body["customer_id"], at)
    given = body.get("standing") or {}
    tier = given.get("tier") or programme.lowest_tier.name
    if tier not in {t.name for t in programme.tiers}:
        raise LoyaltyError(422, "invalid_request", f"This version has no tier {tier!r}.",
                           {"standing": {"tier": [f"one of {', '.join(t.name for t in programme.tiers)}"]}})
    return Standing(tier=tier, qualifying_spend=given.get("qualifying_spend", 0),
                    lifetime_spend=given.get("lifetime_spend", 0), first_purchase_at=given.get("first_purchase_at"),
                    birthday=given.get("birthday")), None, None


def simulate(session, ref, body, now):
    row = store.find(session, ref)
    programme = documents.stored(row.document)
    at = body.get("at") or now
    purchase = _purchase(programme, body["purchase"], at)
    standing, manual, customer_id = _standing(session, programme, body, at)
    explained = explain_purchase(programme, standing, purchase, manual)
    outcome, after = explained.outcome, explained.outcome.standing
    return {
        "version": row.label, "customer_id": customer_id, "at": at,
        "points": explained.points, "points_pending_until": outcome.earning.available_on,
        "trace": [{"rule": step.rule, "kind": step.kind, "matched": step.matched, "points": step.points,
                   "why": step.why} for step in explained.trace],
        "tier": {"before": standing.tier, "after": after.tier, "changed": after.tier != standing.tier},
        "discount": {"percent": explained.discount_before, "percent_after": explained.discount_after},
        "spend": {"qualifying_before": money(programme, standing.qualifying_spend),
                  "qualifying_after": money(programme, after.qualifying_spend),
                  "lifetime_after": money(programme, after.lifetime_spend)},
        "support": {"priority": explained.support.priority,
                    "response_target_hours": explained.support.response_target_hours,
                    "reasons": list(explained.support.reasons)},
        "summary": (f"{explained.points} points on {format_amount(purchase.total, programme.currency)} under "
                    f"{row.label}: " + ", ".join(f"{step.rule} {step.points}" for step in explained.trace
                                                if step.matched and step.points)),
    }
