"""Tiers: standard, gold from 1,000.00 and platinum from 5,000.00 of qualifying spend
(the net spend of the trailing 365 days), by default.

- Upgrade at once: a purchase that lifts qualifying spend into a higher tier gives it
  from that purchase on. A purchase never lowers a tier.
- Refunds undo at once: a refund that takes qualifying spend below the tier drops it at
  once to what the spend still qualifies for. A refund undoes only what spend gave: a
  tier held by time alone (its spend aged out, the review not yet due) stays, and a
  refund never drops below it.
- Time alone lowers a tier only at the periodic review, and only once the tier has been
  held for the hold period (365 days); the review then sets the tier the spend earns.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class TierChange:
    tier: str
    since: datetime | None
    changed: bool
    rule: str
    floor: str | None = None
    floor_since: datetime | None = None


def qualify_tier(programme, spend):
    """The highest tier whose threshold `spend` reaches."""
    return [tier for tier in programme.tiers if spend >= tier.threshold][-1]


def metric(programme, standing):
    """The spend that tiers are measured on: qualifying (trailing window) or lifetime."""
    if programme.tier_policy.metric == "lifetime_spend":
        return standing.lifetime_spend
    return standing.qualifying_spend


def held_by_time(programme, standing):
    """Is the tier above what the spend earns, kept only until the review?"""
    return programme.rank(qualify_tier(programme, metric(programme, standing)).name) < programme.rank(standing.tier)


def _result(programme, standing, target, since, floor, floor_since):
    current = programme.tier(standing.tier)
    if target.name == current.name:
        return TierChange(current.name, standing.tier_since, False, current.rule_id, floor, floor_since)
    return TierChange(target.name, since, True, target.rule_id, floor, floor_since)


def tier_after_purchase(programme, before, counted, at):
    """The tier after a purchase: `before` is the standing without it, `counted` with its spend."""
    floor, floor_since = before.tier_floor, before.floor_since
    if held_by_time(programme, before):
        floor, floor_since = before.tier, before.tier_since
    target = qualify_tier(programme, metric(programme, counted))
    if programme.tier_policy.upgrade != "immediate" or programme.rank(target.name) <= programme.rank(before.tier):
        target = programme.tier(before.tier)
    return _result(programme, before, target, at, floor, floor_since)


def tier_after_refund(programme, before, reduced, at):
    """The tier after a refund: `before` has the refunded spend, `reduced` has it taken off."""
    floor, floor_since = before.tier_floor, before.floor_since
    current = programme.tier(before.tier)
    if programme.tier_policy.refund != "immediate" or held_by_time(programme, before):
        return _result(programme, before, current, at, floor, floor_since)
    target, since = qualify_tier(programme, metric(programme, reduced)), at
    held = programme.tier(floor) if floor else programme.lowest_tier
    if programme.rank(held.name) > programme.rank(target.name):
        target, since = held, floor_since
    if programme.rank(target.name) >= programme.rank(current.name):
        target = current
    return _result(programme, before, target, since, floor, floor_since)


def held_long_enough(programme, standing, now):
    since = standing.tier_since
    return since is None or now >= since + timedelta(days=programme.tier_policy.hold_days)


def review_tier(programme, standing, now):
    """The periodic review: once the tier has been held for the hold period, set the tier
    that spend earns (up or down); before that, only an upgrade the spend earns."""
    target = qualify_tier(programme, metric(programme, standing))
    if programme.rank(target.name) < programme.rank(standing.tier) and not held_long_enough(programme, standing, now):
        return _result(programme, standing, programme.tier(standing.tier), now,
                       standing.tier_floor, standing.floor_since)
    return _result(programme, standing, target, now, None, None)


def spend_counts_until(programme, spend_by_day, today):
    """The last day on which spending what the next tier still needs reaches it: the day the
    oldest spend in the window still counts (after it, that spend ages out and more is
    needed). `spend_by_day`: {date: net spend} of the window up to `today`. None: nothing
    in the window ages out (no spend), so the amount needed stays as it is."""
    days = [day for day, amount in spend_by_day.items() if amount and day <= today]
    if not days or programme.tier_policy.metric == "lifetime_spend":
        return None
    return min(days) + timedelta(days=programme.tier_policy.window_days - 1)


def tier_under_version(programme, standing, now):
    """A newly effective version's ladder applied to a customer at once (`loyalty programme
    apply`; otherwise it applies at their next purchase, refund or review):
    - a tier the spend now reaches above the one held (a lower threshold, a new tier) is
      given now;
    - a tier the version no longer has becomes the tier the spend earns;
    - a tier the spend no longer reaches because a threshold rose is kept: time and rule
      changes lower a tier only at the review, once it has been held for the hold period.
    A tier floor the version no longer has is dropped."""
    names = {tier.name for tier in programme.tiers}
    floor, floor_since = (standing.tier_floor, standing.floor_since) if standing.tier_floor in names else (None, None)
    target = qualify_tier(programme, metric(programme, standing))
    upgrade = programme.tier_policy.upgrade == "immediate" and programme.rank(target.name) > programme.rank(standing.tier)
    if standing.tier in names and not upgrade:
        return TierChange(standing.tier, standing.tier_since, False, programme.tier(standing.tier).rule_id,
                          floor, floor_since)
    return TierChange(target.name, now, target.name != standing.tier, target.rule_id, floor, floor_since)
