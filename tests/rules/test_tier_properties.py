"""Tier, discount and standing properties, on the default and on generated programmes."""
from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules import apply_purchase, apply_refund, discount_for, qualify_tier, review_tier
from tests.rules.strategies import DEFAULT, amounts, any_programme, moments, positive_amounts, purchases, standings


def rank(programme, name):
    return programme.rank(name)


def later(standing, at):
    """A purchase time at or after everything the standing has seen."""
    return max(at, standing.tier_since or at)


@given(any_programme, amounts, amounts)
def test_the_ladder_is_monotone_in_spend(programme, a, b):
    low, high = sorted((a, b))
    assert rank(programme, qualify_tier(programme, low).name) <= rank(programme, qualify_tier(programme, high).name)


@given(any_programme)
def test_thresholds_are_exact_to_the_minor_unit(programme):
    for lower, tier in zip(programme.tiers, programme.tiers[1:]):
        assert qualify_tier(programme, tier.threshold).name == tier.name
        assert qualify_tier(programme, tier.threshold - 1).name == lower.name


def test_999_99_is_not_gold_and_1000_00_is():
    assert qualify_tier(DEFAULT, 99_999).name == "standard"
    assert qualify_tier(DEFAULT, 100_000).name == "gold"


@given(st.data())
def test_a_purchase_never_lowers_the_tier_and_reaches_what_spend_earns(data):
    programme = data.draw(any_programme)
    standing = data.draw(standings(programme))
    purchase = data.draw(purchases())
    purchase = replace(purchase, at=later(standing, purchase.at))
    after = apply_purchase(programme, standing, purchase).standing
    assert rank(programme, after.tier) >= rank(programme, standing.tier)
    earned = qualify_tier(programme, standing.qualifying_spend + purchase.total)
    assert rank(programme, after.tier) >= rank(programme, earned.name)
    assert after.qualifying_spend == standing.qualifying_spend + purchase.total


@given(st.data())
def test_between_reviews_time_alone_never_lowers_the_tier(data):
    programme = data.draw(any_programme)
    standing = data.draw(standings(programme))
    aged = replace(standing, qualifying_spend=data.draw(st.integers(0, standing.qualifying_spend)))
    held = programme.tier_policy.hold_days * 86400
    now = standing.tier_since + timedelta(seconds=data.draw(st.integers(0, max(0, held - 1))))
    if held == 0:
        now = standing.tier_since - timedelta(seconds=1)
    assert rank(programme, review_tier(programme, aged, now).tier) >= rank(programme, standing.tier)


@given(st.data())
def test_a_review_after_the_hold_sets_exactly_what_spend_earns(data):
    programme = data.draw(any_programme)
    standing = data.draw(standings(programme))
    aged = replace(standing, qualifying_spend=data.draw(st.integers(0, standing.qualifying_spend)))
    now = standing.tier_since + timedelta(days=programme.tier_policy.hold_days,
                                          seconds=data.draw(st.integers(0, 400 * 86400)))
    change = review_tier(programme, aged, now)
    assert change.tier == qualify_tier(programme, aged.qualifying_spend).name
    assert change.changed == (change.tier != standing.tier)
    assert change.since == (now if change.changed else standing.tier_since)


@given(st.data())
def test_a_refund_below_the_tier_drops_it_at_once_to_what_remains(data):
    programme = data.draw(any_programme)
    standing = data.draw(standings(programme))
    bought = apply_purchase(programme, standing, replace(data.draw(purchases()), at=later(standing, data.draw(moments))))
    refunded_total = data.draw(st.integers(0, bought.order.total))
    at = bought.order.placed_at + timedelta(seconds=data.draw(st.integers(0, 300 * 86400)))
    before = bought.standing
    after = apply_refund(programme, before, bought.order, refunded_total, at).standing
    remaining = qualify_tier(programme, after.qualifying_spend)
    floor = programme.tier(before.tier_floor) if before.tier_floor else programme.lowest_tier
    supported = rank(programme, qualify_tier(programme, before.qualifying_spend).name) >= rank(programme, before.tier)
    if supported and rank(programme, remaining.name) < rank(programme, before.tier):
        expected = max(remaining, floor, key=lambda tier: rank(programme, tier.name))
        assert after.tier == expected.name       # at once, to what spend (or time) still holds
    else:
        assert after.tier == before.tier          # the refund took nothing below the tier
    assert rank(programme, after.tier) >= rank(programme, remaining.name)


@given(st.data())
def test_purchase_then_full_refund_restores_the_standing(data):
    programme = data.draw(any_programme)
    standing = data.draw(standings(programme))
    purchase = data.draw(purchases())
    purchase = replace(purchase, at=later(standing, purchase.at))
    bought = apply_purchase(programme, standing, purchase)
    at = purchase.at + timedelta(seconds=data.draw(st.integers(0, 300 * 86400)))
    undone = apply_refund(programme, bought.standing, bought.order, purchase.total, at).standing
    assert undone.tier == standing.tier
    assert (undone.qualifying_spend, undone.lifetime_spend) == (standing.qualifying_spend, standing.lifetime_spend)
    assert (undone.points_pending, undone.points_available) == (standing.points_pending, standing.points_available)
    assert discount_for(programme, undone.lifetime_spend) == discount_for(programme, standing.lifetime_spend)


@given(any_programme, amounts, amounts)
def test_the_discount_never_falls_as_lifetime_spend_grows(programme, a, b):
    low, high = sorted((a, b))
    assert discount_for(programme, low)[0] <= discount_for(programme, high)[0]


@given(st.data())
def test_lifetime_metric_ignores_the_window(data):
    programme = replace(DEFAULT, tier_policy=replace(DEFAULT.tier_policy, metric="lifetime_spend"))
    spend = data.draw(positive_amounts)
    standing = replace(data.draw(standings(DEFAULT)), tier="standard", qualifying_spend=0, lifetime_spend=spend)
    assert review_tier(programme, standing, data.draw(moments) + timedelta(days=800)).tier == \
        qualify_tier(programme, spend).name


def _at(days):
    from datetime import datetime, timezone
    return datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=days)


def test_a_tier_held_by_time_survives_a_refund_and_comes_back_after_an_upgrade_is_undone():
    from rules import Purchase, Standing

    held = Standing(tier="gold", tier_since=_at(0), qualifying_spend=0, first_purchase_at=_at(-400))
    big = apply_purchase(DEFAULT, held, Purchase("big", _at(100), 600_000))
    assert (big.standing.tier, big.standing.tier_floor) == ("platinum", "gold")
    undone = apply_refund(DEFAULT, big.standing, big.order, 600_000, _at(101)).standing
    assert undone.tier == "gold"
    assert undone.tier_since == _at(0)          # the hold is not restarted by buying and refunding
    small = apply_purchase(DEFAULT, held, Purchase("small", _at(100), 20_000))
    assert apply_refund(DEFAULT, small.standing, small.order, 20_000, _at(101)).standing.tier == "gold"


def test_refunding_the_purchase_that_made_an_earlier_tier_leaves_no_floor_behind():
    from rules import Purchase, Standing

    a = apply_purchase(DEFAULT, Standing.opening(DEFAULT), Purchase("a", _at(0), 100_000))
    b = apply_purchase(DEFAULT, a.standing, Purchase("b", _at(1), 500_000))
    assert b.standing.tier == "platinum" and b.standing.tier_floor is None
    no_a = apply_refund(DEFAULT, b.standing, a.order, 100_000, _at(2))
    assert no_a.standing.tier == "platinum"
    no_b = apply_refund(DEFAULT, no_a.standing, b.order, 500_000, _at(3))
    assert no_b.standing.tier == "standard"


def test_a_review_after_the_hold_clears_the_floor():
    from rules import Standing

    held = Standing(tier="gold", tier_since=_at(0), qualifying_spend=0, tier_floor="gold", floor_since=_at(0))
    assert review_tier(DEFAULT, held, _at(100)).floor == "gold"
    reviewed = review_tier(DEFAULT, held, _at(365))
    assert (reviewed.tier, reviewed.floor, reviewed.since) == ("standard", None, _at(365))
