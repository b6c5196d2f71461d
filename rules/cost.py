"""What the programme costs against what its members spend, by tier: the standing discount
each purchase was given (the percent its lifetime spend before it earned, worked back from
what was paid: rules/discount.py) and the money points took off orders, against the net
spend of the same purchases. A purchase counts under the tier held just before it (as its
points did); a redemption under the tier held when it was made.

The tier held at a moment is the tier after the customer's last purchase or refund before
it, unless a tier review changed it after that; before any of these, the lowest tier."""
from dataclasses import dataclass
from fractions import Fraction

from rules.discount import discount_for, discount_given


@dataclass(frozen=True)
class Before:
    """What is known just before a purchase or redemption: the tier and lifetime spend after
    the customer's previous purchase or refund (None: there was none) and the newest review
    before it (None: none)."""

    step_at: object = None          # a datetime
    step_tier: str | None = None
    lifetime_spend: int = 0
    review_at: object = None
    review_tier: str | None = None


def tier_held(programme, before):
    if before.review_tier is not None and (before.step_at is None or before.review_at >= before.step_at):
        return before.review_tier
    return before.step_tier or programme.lowest_tier.name


@dataclass
class TierCost:
    purchases: int = 0
    spend: int = 0                  # net of refunds, minor units
    discounts: int = 0
    redemptions: int = 0
    points_redeemed: int = 0
    redeemed_value: int = 0

    @property
    def cost(self):
        return self.discounts + self.redeemed_value

    @property
    def cost_share(self):
        """The cost as a share of the spend (0 when nothing was spent)."""
        return Fraction(self.cost, self.spend) if self.spend > 0 else Fraction(0)


def cost_by_tier(programme, purchases, redemptions):
    """`purchases`: [(Before, net amount paid)]; `redemptions`: [(Before, points, amount off)].
    Answers ({tier name: TierCost} for every tier, TierCost of everyone)."""
    tiers = {tier.name: TierCost() for tier in programme.tiers}
    everyone = TierCost()
    for before, paid in purchases:
        percent = discount_for(programme, before.lifetime_spend)[0]
        for total in (tiers[programme.tier(tier_held(programme, before)).name], everyone):
            total.purchases += 1
            total.spend += paid
            total.discounts += discount_given(percent, paid)
    for before, points, amount_off in redemptions:
        for total in (tiers[programme.tier(tier_held(programme, before)).name], everyone):
            total.redemptions += 1
            total.points_redeemed += points
            total.redeemed_value += amount_off
    return tiers, everyone
