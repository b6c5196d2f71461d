"""Refunds: points come back in proportion to the refunded share of the order.

The clawback is floor(points earned x refunded so far / order total) less what earlier
refunds on that order already took, so partial refunds add up to exactly what one
refund of the same total would take. Pending points of the order go first, then
available ones (which may go below zero if already spent). Fixed bonuses (welcome) go
only with a full refund.

Spend falls at once by what the order stops counting: the drop in its counted net, where
counted net = max(0, counted - refunded so far) and `counted` is the total less excluded
lines (gift cards). Refunds come off the counted part first, the reading that protects
the shop's money: a 1,000.00 gift card + 200.00 shoes order counts 200.00, and a refund of
200.00 takes all 200.00 off spend (not a third of it), since a refund cannot be told to
be of the gift card. An order without excluded lines loses exactly what is refunded.
"""
from dataclasses import dataclass

from rules.calendar import in_window
from rules.standing import OrderState, Standing, evolve
from rules.tiers import TierChange, tier_after_refund


@dataclass(frozen=True)
class RefundOutcome:
    standing: Standing
    order: OrderState
    refunded: int          # the amount this refund adds to what was refunded before
    clawback: int          # points taken back by this refund, all kinds
    from_pending: int
    from_available: int
    fixed_removed: int     # of `clawback`, the fixed bonus points (welcome) taken back
    tier_change: TierChange
    beyond_order: int = 0  # what the refunds reported beyond the order's total (not counted)
    spend_drop: int = 0    # what this refund takes off qualifying (in window) and lifetime spend


def clawback_for(order, refunded_total):
    """The points this refund takes back from `order`, given the cumulative refunded total."""
    if order.total <= 0:
        return 0
    target = order.points * min(refunded_total, order.total) // order.total
    return max(0, target - order.clawed_back)


def apply_refund(programme, standing, order, refunded_total, at):
    """The standing after refunds on `order` reach `refunded_total` (cumulative, as Stripe
    reports it). A total at or below what was already refunded changes nothing, so a
    re-delivered or out-of-date refund is harmless. Refunds beyond the order's total count
    up to it; the rest is answered as `beyond_order`, so the caller can say so."""
    beyond = max(0, refunded_total - order.total)
    refunded_total = max(order.refunded, min(refunded_total, order.total))
    delta = refunded_total - order.refunded
    points = clawback_for(order, refunded_total)
    fixed = order.fixed_points if refunded_total >= order.total and not order.fixed_removed else 0
    taken = points + fixed
    from_pending = min(taken, order.pending)
    from_available = taken - from_pending

    new_order = evolve(order, refunded=refunded_total, clawed_back=order.clawed_back + points,
                        fixed_removed=order.fixed_removed or bool(fixed),
                        pending=order.pending - from_pending)
    drop = order.counted_net - new_order.counted_net
    qualifying = standing.qualifying_spend
    if in_window(programme, order.placed_at, at):
        qualifying -= drop
    reduced = evolve(standing, qualifying_spend=qualifying,
                      lifetime_spend=standing.lifetime_spend - drop,
                      points_pending=standing.points_pending - from_pending,
                      points_available=standing.points_available - from_available)
    change = tier_after_refund(programme, standing, reduced, at)
    after = evolve(reduced, tier=change.tier, tier_since=change.since,
                    tier_floor=change.floor, floor_since=change.floor_since)
    return RefundOutcome(after, new_order,
                         delta, taken, from_pending, from_available, fixed, change, beyond, drop)
