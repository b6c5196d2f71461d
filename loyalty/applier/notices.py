"""The events out of a batch (loyalty/outbox): what each customer earned, a tier that moved,
priority support that changed with it, and the inbound events that could not be applied.
Worked out from the write plan, recorded in the batch's transaction."""
from loyalty.applier.evaluation import source_of
from loyalty.outbox.catalog import Notice
from loyalty.services.balances import manual_priority
from rules import support_flags

EARNED = ("earn", "welcome")
IMPORT = "import"


def batch_notices(programme, plan, events, now, taken):
    """The events of `taken` types the batch makes. Imported history announces nothing: only
    what live events (webhooks) changed is sent."""
    notices = _earned(plan) if "points.earned" in taken else []
    live = {step.order.customer_id for step in plan.new_steps if source_of(step) != IMPORT}
    if not {"tier.changed", "priority.changed"} & taken:
        live = ()
    for account in plan.accounts:
        before, after = plan.tiers_before.get(account.id), account.standing.tier
        if before is None or before == after or account.id not in live:
            continue
        why = "purchase" if programme.rank(after) > programme.rank(before) else "refund"
        notices.append(Notice("tier.changed", account.id, {"from": before, "to": after, "why": why}))
        moved = priority_moved(programme, before, after, account.manual, "tier", now)
        if moved is not None:
            notices.append(Notice("priority.changed", account.id, moved))
    for event in events:
        if event.outcome is not None and event.outcome.status == "failed" and event.source != IMPORT:
            notices.append(failed(event))
    return [notice for notice in notices if notice.type in taken]


def _earned(plan):
    """One `points.earned` per purchase: its earn and welcome entries together."""
    earned = {}
    for entry in plan.entries:
        if entry["kind"] in EARNED and entry["status"] == "pending" and entry["source"] != IMPORT:
            key = (entry["customer_id"], entry["order"].order_key)
            data = earned.setdefault(key, {"order_id": key[1], "points": 0, "status": "pending",
                                           "available_on": entry["available_on"], "rules": []})
            data["points"] += entry["points"]
            data["rules"] += [rule for rule, _ in entry["rules"]]
    return [Notice("points.earned", customer_id, data) for (customer_id, _), data in earned.items()]


def priority_change(programme, tier_before, why, now, row):
    """`priority.changed` data when the customer's support flags moved (None: they did not);
    `row` is the customer as the change left it."""
    return priority_moved(programme, tier_before, row.tier, manual_priority(row), why, now)


def priority_moved(programme, tier_before, tier_after, manual, why, now, before=None):
    """`priority.changed` data when the support flags moved from `before` (default: now) to
    now (None: they did not): a tier change, or a manual priority that ended."""
    old = support_flags(programme, tier_before, manual, before or now)
    new = support_flags(programme, tier_after, manual, now)
    if (old.priority, old.response_target_hours) == (new.priority, new.response_target_hours):
        return None
    return {"from": {"priority": old.priority, "response_target_hours": old.response_target_hours},
            "to": {"priority": new.priority, "response_target_hours": new.response_target_hours},
            "why": why, "reasons": list(new.reasons)}


def failed(event):
    """`event.failed`: the inbound event, kept, and why it could not be applied."""
    outcome = event.outcome
    return Notice("event.failed", None, {"source": event.source, "event_id": event.event_id, "type": event.type,
                                         "error": {"code": outcome.code, "message": outcome.message}})
