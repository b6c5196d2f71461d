"""The shipped default reproduces every number of shared/spec/programme.md."""
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from rules import (ManualPriority, Purchase, Standing, apply_purchase, apply_refund, available_on,
                   check_goodwill, discount_for, expires_on, load_programme, points_for, qualify_tier,
                   quote, review_tier, support_flags)

P = load_programme()
AT = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)


def standing(tier="standard", **fields):
    return Standing(tier=tier, first_purchase_at=fields.pop("first_purchase_at", AT - timedelta(days=30)), **fields)


def buy(total, at=AT):
    return Purchase("o-1", at, total)


def test_programme_is_eur_in_utc_with_a_version():
    assert (P.currency, P.timezone) == ("EUR", "UTC")
    assert P.version


@pytest.mark.parametrize("tier, birthday, expected", [
    ("standard", None, 129),               # 1 point per whole 1.00: 129.99 earns 129
    ("gold", None, 162),                   # 12999 x 125 / 10000 = 162.48
    ("platinum", None, 194),               # 12999 x 150 / 10000 = 194.98
    ("standard", date(1990, 11, 2), 259),  # birthday month +100: 12999 x 200 / 10000
    ("gold", date(1990, 11, 2), 292),      # 12999 x 225 / 10000 = 292.47
    ("platinum", date(1990, 11, 2), 324),  # 12999 x 250 / 10000 = 324.97
    ("standard", date(1990, 12, 2), 129),  # another month: no bonus
])
def test_earning_multipliers_add_up_before_one_rounding(tier, birthday, expected):
    earning = points_for(P, standing(tier, birthday=birthday), buy(12999))
    assert earning.points == expected
    assert earning.fixed_points == 0
    assert sum(hit.points for hit in earning.rules) == expected


def test_welcome_bonus_on_the_first_purchase_only_and_pending_with_it():
    new = Standing.opening(P)
    first = apply_purchase(P, new, buy(12999))
    assert first.earning.fixed_points == 100
    assert ("welcome", 100) in [(h.rule, h.points) for h in first.earning.rules]
    assert first.standing.points_pending == 229 and first.standing.points_available == 0
    second = points_for(P, first.standing, buy(12999, AT + timedelta(days=1)))
    assert second.fixed_points == 0


def test_an_earlier_purchase_arriving_late_is_the_first_one():
    later_first = Standing(tier="standard", first_purchase_at=AT)
    assert points_for(P, later_first, buy(1000, AT - timedelta(days=2))).fixed_points == 100


def test_points_are_pending_for_14_days_and_expire_365_days_after_release():
    assert available_on(P, datetime(2026, 11, 20, 23, 59, tzinfo=timezone.utc)) == date(2026, 12, 4)
    assert expires_on(P, date(2026, 12, 4)) == date(2027, 12, 4)


def test_the_tier_before_the_purchase_sets_the_rate_and_the_purchase_lifts_the_tier():
    outcome = apply_purchase(P, standing(qualifying_spend=99_999, lifetime_spend=99_999), buy(20_000))
    assert outcome.earning.points == 200           # standard rate, though the purchase makes gold
    assert outcome.standing.tier == "gold" and outcome.standing.tier_since == AT


@pytest.mark.parametrize("spend, tier", [(0, "standard"), (99_999, "standard"), (100_000, "gold"),
                                         (499_999, "gold"), (500_000, "platinum")])
def test_tier_thresholds(spend, tier):
    assert qualify_tier(P, spend).name == tier


@pytest.mark.parametrize("tier, priority, hours", [("standard", False, 14), ("gold", True, 2), ("platinum", True, 1)])
def test_support_by_tier(tier, priority, hours):
    flags = support_flags(P, tier, None, AT)
    assert (flags.priority, flags.response_target_hours) == (priority, hours)
    assert flags.reasons == ((f"tier:{tier}",) if priority else ())


@pytest.mark.parametrize("lifetime, percent", [(0, 0), (19_999, 0), (20_000, 3), (49_999, 3), (50_000, 5),
                                               (100_000, 7), (299_999, 7), (300_000, 10), (10**9, 10)])
def test_cumulative_discount_ladder(lifetime, percent):
    assert discount_for(P, lifetime)[0] == percent


def test_redemption_100_points_per_euro_at_least_500_at_most_half_the_order():
    rich = standing(points_available=100_000)
    assert quote(P, rich, 10_000, 500).redeem_amount == 500           # 500 points = 5.00
    assert quote(P, rich, 10_000).points_redeemable_max == 5_000      # half of 100.00
    assert quote(P, rich, 10_000, 499).refusal.code == "below_minimum"
    assert quote(P, rich, 10_000, 5_001).refusal.code == "above_order_maximum"
    assert quote(P, standing(points_available=499), 10_000).points_redeemable_max == 0


def test_quote_takes_the_discount_and_the_points_off_the_total():
    q = quote(P, standing(lifetime_spend=111_999, points_available=1_500), 10_000, 1_000)
    assert (q.discount_percent, q.discount, q.redeem_amount, q.total_after) == (7, 700, 1_000, 8_300)


def test_refund_takes_points_back_in_proportion_pending_first_and_welcome_only_when_full():
    bought = apply_purchase(P, Standing.opening(P), buy(20_000))      # 200 + 100 welcome, pending
    half = apply_refund(P, bought.standing, bought.order, 10_000, AT + timedelta(days=1))
    assert (half.clawback, half.from_pending, half.fixed_removed) == (100, 100, 0)
    assert half.standing.qualifying_spend == 10_000 and half.standing.lifetime_spend == 10_000
    full = apply_refund(P, half.standing, half.order, 20_000, AT + timedelta(days=2))
    assert (full.clawback, full.fixed_removed) == (200, 100)
    assert full.standing.points_pending == 0 and full.standing.lifetime_spend == 0


def test_refund_of_spent_points_takes_the_available_balance_below_zero():
    bought = apply_purchase(P, standing(), buy(100_000))             # 1000 points, pending
    released = replace(bought.standing, points_pending=0, points_available=0)  # released, then spent
    order = replace(bought.order, pending=0)
    refunded = apply_refund(P, released, order, 100_000, AT + timedelta(days=20))
    assert refunded.standing.points_available == -1_000
    assert quote(P, refunded.standing, 10_000, 500).refusal.code == "negative_balance"


def test_refund_drops_the_tier_at_once_but_time_only_at_review_after_a_year():
    gold = apply_purchase(P, standing(), buy(100_000))
    assert gold.standing.tier == "gold"
    dropped = apply_refund(P, gold.standing, gold.order, 1, AT + timedelta(days=1))
    assert dropped.standing.tier == "standard"
    aged = Standing(tier="gold", tier_since=AT, qualifying_spend=0)
    assert review_tier(P, aged, AT + timedelta(days=364)).tier == "gold"
    assert review_tier(P, aged, AT + timedelta(days=365)).tier == "standard"


def test_manual_priority_and_goodwill_cap():
    manual = ManualPriority("complaint", AT + timedelta(days=7), "agent-1")
    flags = support_flags(P, "standard", manual, AT)
    assert (flags.priority, flags.response_target_hours, flags.reasons) == (True, 2, ("manual",))
    assert support_flags(P, "standard", manual, AT + timedelta(days=7)).priority is False
    assert support_flags(P, "platinum", manual, AT).response_target_hours == 1
    assert check_goodwill(P, 1_000) == 1_000
    with pytest.raises(ValueError):
        check_goodwill(P, 1_001)


def test_a_refund_after_the_purchase_left_the_window_lowers_lifetime_spend_only():
    bought = apply_purchase(P, standing(), buy(50_000))
    aged = replace(bought.standing, qualifying_spend=0)          # the purchase is 400 days old
    refunded = apply_refund(P, aged, bought.order, 50_000, AT + timedelta(days=400))
    assert refunded.standing.qualifying_spend == 0
    assert refunded.standing.lifetime_spend == bought.standing.lifetime_spend - 50_000


def test_the_window_is_365_dates_and_a_purchase_ages_out_on_day_365():
    from rules import in_window, window_start

    bought = datetime(2026, 1, 10, 23, 0, tzinfo=timezone.utc)
    assert in_window(P, bought, datetime(2027, 1, 9, 23, 59, tzinfo=timezone.utc))      # day 364
    assert not in_window(P, bought, datetime(2027, 1, 10, 0, 0, tzinfo=timezone.utc))  # day 365
    assert window_start(P, datetime(2027, 1, 9, tzinfo=timezone.utc)) == date(2026, 1, 10)
