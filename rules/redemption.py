"""Redeeming points at checkout: 100 points are worth 1.00 off by default; at least 500
points at a time; at most 50 % of the order total (before any discount), and never more
than what is left after the cumulative discount. Only available points can be redeemed,
and none while the available balance is below zero."""
from dataclasses import dataclass
from math import gcd

from rules import currency
from rules.discount import discount_amount, discount_for
from rules.standing import Refused


class RedemptionRefused(Refused):
    """A redemption the programme does not allow."""


@dataclass(frozen=True)
class Quote:
    discount_percent: int
    discount: int
    points_redeemable_max: int
    redeem_points: int
    redeem_amount: int
    total_after: int
    refusal: RedemptionRefused | None
    rules: tuple
    programme_version: str


def _unit(programme):
    return programme.redemption.worth_units * currency.minor_units_per_unit(programme.currency)


def points_value(programme, points):
    """What `points` take off an order, in minor units (rounded down)."""
    return points * _unit(programme) // programme.redemption.points


def _step(programme):
    """The smallest number of points worth a whole minor unit, so no point is wasted."""
    per, unit = programme.redemption.points, _unit(programme)
    return per // gcd(per, unit)


def redeemable_max(programme, available, order_total, discount):
    """The most points one order may take, or 0 when fewer than the minimum are allowed."""
    rules = programme.redemption
    cap_amount = min(order_total * rules.max_order_percent // 100, order_total - discount)
    by_order = cap_amount * rules.points // _unit(programme)
    step = _step(programme)
    most = min(by_order, max(available, 0)) // step * step
    return most if most >= max(rules.minimum_points, 1) else 0


def check_redemption(programme, available, order_total, points, discount=0):
    """Refuse a redemption the programme does not allow; otherwise return its value.

    With `order_total` None (a redemption made without the order's total) the share-of-order
    cap cannot be checked; every other rule still is."""
    rules = programme.redemption
    if available < 0:
        raise RedemptionRefused("negative_balance", "The available balance is below zero.", available=available)
    if points < rules.minimum_points:
        raise RedemptionRefused("below_minimum", f"At least {rules.minimum_points} points per redemption.",
                                minimum_points=rules.minimum_points)
    if points > available:
        raise RedemptionRefused("insufficient_points", "Not enough available points.", available=available)
    if points % _step(programme):
        raise RedemptionRefused("not_whole_amount", f"Redeem points in multiples of {_step(programme)}.",
                                multiple_of=_step(programme))
    most = available if order_total is None else redeemable_max(programme, available, order_total, discount)
    if points > most:
        raise RedemptionRefused("above_order_maximum", "More points than this order allows.",
                                points_redeemable_max=most)
    return points_value(programme, points)


def quote(programme, standing, order_total, redeem_points=None):
    """The discount on an order and what points could take off it, for a customer's standing."""
    percent, hit = discount_for(programme, standing.lifetime_spend)
    discount = discount_amount(percent, order_total)
    most = redeemable_max(programme, standing.points_available, order_total, discount)
    refusal, redeem, amount = None, 0, 0
    if redeem_points is not None:
        try:
            amount = check_redemption(programme, standing.points_available, order_total, redeem_points, discount)
            redeem = redeem_points
        except RedemptionRefused as refused:
            refusal = refused
    return Quote(percent, discount, most, redeem, amount, order_total - discount - amount,
                 refusal, (hit,), programme.version)
