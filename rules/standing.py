"""The snapshots the engine reads: a customer's standing, a purchase and its lines, an
order's state after earning. All frozen: evaluation returns new ones, never edits."""
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Line:
    amount: int
    category: str | None = None
    sku: str | None = None
    quantity: int = 1


@dataclass(frozen=True)
class Purchase:
    """A paid order: `total` in minor units of the programme currency, at an aware time."""

    order_id: str
    at: datetime
    total: int
    lines: tuple = ()


@dataclass(frozen=True)
class Standing:
    """What the engine needs to know of a customer, as of one moment.

    `qualifying_spend` is the net spend of the trailing window as of that moment; the
    caller computes it (from spend buckets), the engine does not read history.
    `tier_floor` is the tier held by time alone (kept while spend aged out, until the
    review): refunds of later purchases cannot take the tier below it. None: the lowest.
    """

    tier: str
    tier_since: datetime | None = None
    qualifying_spend: int = 0
    lifetime_spend: int = 0
    first_purchase_at: datetime | None = None
    birthday: date | None = None
    points_pending: int = 0
    points_available: int = 0
    tier_floor: str | None = None
    floor_since: datetime | None = None

    @classmethod
    def opening(cls, programme, birthday=None):
        """A new customer: lowest tier, no spend, no points."""
        return cls(tier=programme.lowest_tier.name, birthday=birthday)

    def is_first_purchase(self, at):
        return self.first_purchase_at is None or at < self.first_purchase_at


@dataclass(frozen=True)
class RuleHit:
    """A rule that fired and what it contributed (points, or a percent for ladders)."""

    rule: str
    points: int = 0


@dataclass(frozen=True)
class OrderState:
    """An order after earning: what it earned, what refunds have taken back so far, and
    how many of its points are still pending (refunds take those first).

    `counted` is the part of the total that counts as spend (qualifying and lifetime): the
    total less its excluded lines (gift cards are money, not a purchase). None means the
    whole total, as every order stored before excluded lines stopped counting did."""

    order_id: str
    placed_at: datetime
    total: int
    points: int
    fixed_points: int = 0
    refunded: int = 0
    clawed_back: int = 0
    fixed_removed: bool = False
    pending: int = 0
    rules: tuple = field(default=())
    counted: int | None = None

    @property
    def counted_spend(self):
        """What the purchase added to spend, before any refund."""
        return self.total if self.counted is None else self.counted

    @property
    def counted_net(self):
        """What the order still adds to spend. Refunds come off the counted part first (the
        reading that protects the shop's money): refunding the shoes of a gift card + shoes
        order takes the shoes' whole amount off spend, not a share of it."""
        return max(0, self.counted_spend - self.refunded)


class Refused(ValueError):
    """Something the programme does not allow; `code` names the rule, `details` the numbers."""

    def __init__(self, code, message, **details):
        super().__init__(message)
        self.code, self.details = code, details


def evolve(value, **changes):
    """`dataclasses.replace` for the frozen snapshots above, without running `__init__` again
    (they have no `__post_init__`): evaluation makes a few per purchase, and a backtest
    replays millions of purchases (bench/backtest_scale.py: replace was a fifth of its time).
    A name that is not a field is refused, as `replace` refuses it."""
    unknown = changes.keys() - value.__dataclass_fields__.keys()
    if unknown:
        raise TypeError(f"{type(value).__name__} has no field {', '.join(sorted(unknown))}")
    new = object.__new__(type(value))
    new.__dict__.update(value.__dict__, **changes)      # frozen blocks setattr, as replace's copy does
    return new

