"""What a purchase does to a customer's standing: it earns points (pending for the return
window), adds its counted amount (the total less excluded lines such as gift cards) to
qualifying and lifetime spend, and may lift the tier at once."""
from dataclasses import dataclass

from rules.earning import Earning, counted_spend, points_for
from rules.standing import OrderState, Standing, evolve
from rules.tiers import TierChange, tier_after_purchase


@dataclass(frozen=True)
class PurchaseOutcome:
    standing: Standing
    order: OrderState
    earning: Earning
    tier_change: TierChange


def apply_purchase(programme, standing, purchase):
    """The standing after `purchase`, the order's state, and the explanation of both."""
    earning = points_for(programme, standing, purchase)
    spend = counted_spend(programme, purchase)
    first = standing.first_purchase_at
    counted = evolve(
        standing,
        qualifying_spend=standing.qualifying_spend + spend,
        lifetime_spend=standing.lifetime_spend + spend,
        # An order of excluded lines alone is not a purchase: the first one is still to come.
        first_purchase_at=first if spend == 0 else purchase.at if first is None else min(first, purchase.at),
        points_pending=standing.points_pending + earning.total)
    change = tier_after_purchase(programme, standing, counted, purchase.at)
    order = OrderState(order_id=purchase.order_id, placed_at=purchase.at, total=purchase.total,
                       points=earning.points, fixed_points=earning.fixed_points,
                       pending=earning.total, rules=earning.rules, counted=spend)
    after = evolve(counted, tier=change.tier, tier_since=change.since,
                    tier_floor=change.floor, floor_since=change.floor_since)
    return PurchaseOutcome(after, order, earning, change)
