"""Standing and order state to and from stored form (JSON snapshots, customer and order rows):
the one mapping between stored rows and `rules` values, used by the batch applier, the
quote and the tier review."""
from dataclasses import fields
from datetime import date, datetime

from rules import OrderState, RuleHit, Standing

_DATETIMES = {"tier_since", "first_purchase_at", "floor_since", "placed_at"}


_FIELDS = {kind: tuple(f.name for f in fields(kind)) for kind in (Standing, OrderState)}


def to_json(value):
    """A Standing or OrderState as JSON-ready data (field by field: `asdict` deep-copies, and a
    batch writes two snapshots a step)."""
    data = {}
    for key in _FIELDS[type(value)]:
        item = getattr(value, key)
        if isinstance(item, (datetime, date)):
            item = item.isoformat()
        elif key == "rules":
            item = [[hit.rule, hit.points] for hit in item]
        data[key] = item
    return data


def _parse(key, item):
    if item is None:
        return None
    if key in _DATETIMES:
        return datetime.fromisoformat(item)
    if key == "birthday":
        return date.fromisoformat(item)
    if key == "rules":
        return tuple(RuleHit(rule, points) for rule, points in item)
    return item


def standing_from_json(data):
    return Standing(**{f.name: _parse(f.name, data.get(f.name)) for f in fields(Standing) if f.name in data})


def order_from_json(data):
    """An OrderState from its snapshot; a field the snapshot lacks (`counted`, in snapshots
    stored before it existed) takes its default."""
    return OrderState(**{f.name: _parse(f.name, data.get(f.name)) for f in fields(OrderState) if f.name in data})


def standing_of(customer, qualifying_spend):
    """The standing cached on a customer row (an ORM object or any row with the customer's
    columns), with qualifying spend computed by the caller."""
    return Standing(
        tier=customer.tier, tier_since=customer.tier_since, qualifying_spend=qualifying_spend,
        lifetime_spend=customer.lifetime_spend, first_purchase_at=customer.first_purchase_at,
        birthday=customer.birthday, points_pending=customer.points_pending,
        points_available=customer.points_available, tier_floor=customer.tier_floor,
        floor_since=customer.floor_since)


def order_state_of(order, counted=None):
    """The state an order row holds. The row has no column for the counted amount (the total
    less excluded lines): the caller passes it from the order's snapshot; None (a snapshot
    stored before excluded lines stopped counting) means the whole total, as then."""
    return OrderState(
        order_id=order.order_key, placed_at=order.placed_at, total=order.total, points=order.points_earned,
        fixed_points=order.fixed_points, refunded=order.refunded, clawed_back=order.points_clawed_back,
        fixed_removed=order.fixed_removed, pending=order.points_pending, counted=counted)


def net_points(state):
    """What an order has given the customer, all refunds taken off."""
    fixed = 0 if state.fixed_removed else state.fixed_points
    return state.points - state.clawed_back + fixed
