"""The programme as immutable data: what earns points, the tiers, the discount ladder,
redemption and support terms. Built and validated by `rules.loading`; never edited."""
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date


@dataclass(frozen=True)
class Condition:
    """When a bonus applies. Empty fields do not constrain; all given fields must hold.

    `categories` and `skus` make it a line condition: the bonus then applies to the
    amount of the matching lines only, not to the whole order.
    """

    tiers: frozenset = frozenset()
    birthday_month: bool = False
    first_purchase: bool = False
    order_total_at_least: int = 0
    from_date: date | None = None
    until_date: date | None = None
    categories: frozenset = frozenset()
    skus: frozenset = frozenset()

    @property
    def on_lines(self):
        return bool(self.categories or self.skus)


@dataclass(frozen=True)
class Bonus:
    """A percentage of the base rate added when the condition holds."""

    id: str
    percent: int
    when: Condition


@dataclass(frozen=True)
class FixedBonus:
    """A fixed number of points (the welcome bonus), pending with the purchase that earns it."""

    id: str
    points: int
    when: Condition


@dataclass(frozen=True)
class Exclusion:
    """Lines that earn nothing (gift cards, say), by category or SKU."""

    id: str
    categories: frozenset = frozenset()
    skus: frozenset = frozenset()


@dataclass(frozen=True)
class Tier:
    name: str
    threshold: int
    priority_support: bool
    first_response_hours: int

    @property
    def rule_id(self):
        return f"tier:{self.name}"


@dataclass(frozen=True)
class TierPolicy:
    metric: str = "qualifying_spend"
    window_days: int = 365
    hold_days: int = 365
    upgrade: str = "immediate"
    refund: str = "immediate"


@dataclass(frozen=True)
class DiscountStep:
    threshold: int
    percent: int

    @property
    def rule_id(self):
        return f"discount:{self.percent}%"


@dataclass(frozen=True)
class Redemption:
    points: int
    worth_units: int
    minimum_points: int
    max_order_percent: int


@dataclass(frozen=True)
class Notices:
    """When dated notices go out: points expiring in `expiring_days` (lead times, longest
    first; none: no expiry notices), a tier falling at a review in `downgrade_days`."""

    expiring_days: tuple[int, ...] = (30, 7)
    downgrade_days: int = 30


@dataclass(frozen=True)
class BirthdayGift:
    """Points given on the customer's birthday by the daily jobs (`[birthday_gift]`; absent:
    no gift). `id` names the rule on the ledger entry; no gift for a birthday set or changed
    within `recent_change_days` (so a birthday cannot be moved to today for points)."""

    id: str
    points: int
    recent_change_days: int = 30


@dataclass(frozen=True)
class Programme:
    version: str
    currency: str
    timezone: str
    earn_points: int
    earn_per_units: int
    bonuses: tuple = ()
    fixed_bonuses: tuple = ()
    exclusions: tuple = ()
    pending_days: int = 14
    expiry_days: int = 365
    tier_policy: TierPolicy = field(default_factory=TierPolicy)
    tiers: tuple = ()
    discounts: tuple = ()
    redemption: Redemption | None = None
    goodwill_cap: int = 1000
    manual_priority_tier: str = ""
    notices: Notices = field(default_factory=Notices)
    birthday_gift: BirthdayGift | None = None

    def tier(self, name):
        """The tier called `name`; an unknown name (a tier since removed) counts as the lowest."""
        return self._tiers_by_name.get(name, self.tiers[0])

    def rank(self, name):
        return self._ranks.get(name, 0)

    @cached_property
    def _tiers_by_name(self):
        return {tier.name: tier for tier in self.tiers}

    @cached_property
    def _ranks(self):
        return {tier.name: rank for rank, tier in enumerate(self.tiers)}

    @property
    def lowest_tier(self):
        return self.tiers[0]
