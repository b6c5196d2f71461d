"""The cost by tier and the discount worked back from what was paid, as rules/cost.py and
rules/discount.py state them."""
from datetime import datetime, timezone
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from rules import discount_amount
from rules.cost import Before, TierCost, cost_by_tier, tier_held
from rules.discount import discount_given
from tests.rules.strategies import DEFAULT

PROGRAMME = DEFAULT
EARLY, LATE = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 6, 1, tzinfo=timezone.utc)


@given(list_price=st.integers(0, 10**9), percent=st.integers(0, 50))
def test_the_discount_worked_back_is_the_quoted_one_or_one_minor_unit_more(list_price, percent):
    paid = list_price - discount_amount(percent, list_price)
    assert 0 <= discount_given(percent, paid) - discount_amount(percent, list_price) <= 1


def test_the_discount_by_hand():
    assert discount_given(7, 9300) == 700          # 100.00 less 7 %
    assert discount_given(3, 10_000) == 309        # 10,000 x 3 / 97 = 309.27
    assert discount_given(0, 10_000) == 0
    assert discount_given(100, 0) == 0


def test_the_tier_held_is_the_newest_of_the_last_step_and_the_last_review():
    assert tier_held(PROGRAMME, Before()) == "standard"
    assert tier_held(PROGRAMME, Before(step_at=EARLY, step_tier="gold")) == "gold"
    assert tier_held(PROGRAMME, Before(EARLY, "gold", 0, LATE, "standard")) == "standard"     # reviewed since
    assert tier_held(PROGRAMME, Before(LATE, "platinum", 0, EARLY, "standard")) == "platinum"  # bought since
    assert tier_held(PROGRAMME, Before(None, None, 0, EARLY, "gold")) == "gold"


def test_cost_by_tier_by_hand():
    gold_before = Before(EARLY, "gold", 100_000)           # lifetime 1,000.00: 7 %
    purchases = [(gold_before, 15_000), (Before(), 30_000), (Before(EARLY, "standard", 30_000), 10_000)]
    redemptions = [(gold_before, 500, 500), (Before(EARLY, "standard", 40_000), 600, 600)]
    tiers, everyone = cost_by_tier(PROGRAMME, purchases, redemptions)
    assert tiers["gold"] == TierCost(purchases=1, spend=15_000, discounts=1129, redemptions=1, points_redeemed=500,
                                     redeemed_value=500)
    assert tiers["standard"] == TierCost(purchases=2, spend=40_000, discounts=0 + 309, redemptions=1,
                                         points_redeemed=600, redeemed_value=600)
    assert tiers["platinum"] == TierCost() and tiers["platinum"].cost_share == 0
    assert everyone.cost == 1129 + 309 + 1100 and everyone.cost_share == Fraction(2538, 55_000)
    assert tiers["gold"].cost_share == Fraction(1629, 15_000)
