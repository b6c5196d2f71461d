"""Priority support: gold and platinum customers are priority, with first-response targets
of 2 and 1 hours (standard: 14 hours), by default. A support agent can also set a manual
priority flag with a reason and an end date (after a complaint, say): while it lasts the
customer is priority and answered within the target of the programme's manual-priority
tier, if that is sooner. Goodwill points are capped per grant (1,000 by default)."""
from dataclasses import dataclass
from datetime import datetime

from rules.standing import Refused


@dataclass(frozen=True)
class ManualPriority:
    reason: str
    until: datetime
    by: str


@dataclass(frozen=True)
class SupportFlags:
    priority: bool
    tier: str
    response_target_hours: int
    reasons: tuple


class GoodwillRefused(Refused):
    """A goodwill grant the programme does not allow."""


def support_flags(programme, tier_name, manual, now):
    """Priority, response target and the reasons for them, as of `now`."""
    tier = programme.tier(tier_name)
    priority, hours, reasons = tier.priority_support, tier.first_response_hours, []
    if tier.priority_support:
        reasons.append(tier.rule_id)
    if manual is not None and now < manual.until:
        priority = True
        hours = min(hours, programme.tier(programme.manual_priority_tier).first_response_hours)
        reasons.append("manual")
    return SupportFlags(priority, tier.name, hours, tuple(reasons))


def check_goodwill(programme, points):
    """Goodwill is a positive grant of at most the programme's cap."""
    if points < 1:
        raise GoodwillRefused("not_positive", "Goodwill points must be at least 1.")
    if points > programme.goodwill_cap:
        raise GoodwillRefused("above_goodwill_cap", f"At most {programme.goodwill_cap} goodwill points per grant.",
                              goodwill_cap=programme.goodwill_cap)
    return points
