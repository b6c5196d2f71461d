"""What a batch holds in memory between reading and flushing: its events, the customers'
accounts, the orders and timeline steps it touches, and the write plan it produces.

Plain dataclasses: the applier reads rows into these, `rules/` evaluates them, and the
plan is flushed with multi-row statements. No ORM objects, no lazy loads.
"""
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from rules import OrderState, Standing


@dataclass(frozen=True)
class Outcome:
    """What became of one event: `processed`, `duplicate`, `parked` or `failed` (with a code)."""

    status: str
    code: str | None = None
    message: str | None = None


PROCESSED, DUPLICATE, PARKED = Outcome("processed"), Outcome("duplicate"), Outcome("parked")


@dataclass(eq=False)
class Event:
    """A claimed inbox event, read into its command (None: nothing to apply)."""

    row_id: int
    source: str
    event_id: str
    type: str
    received_at: datetime
    command: object = None
    outcome: Outcome | None = None


@dataclass
class Account:
    """A customer row as locked for the batch: profile, cached standing and balance."""

    id: str
    standing: Standing
    last_event_at: datetime | None
    email: str | None = None
    stripe_customer_id: str | None = None
    event_sequence: int = 0                 # the newest event out's number (events out count from 1)
    manual: object = None                   # rules.ManualPriority, or None
    stored_birthday: date | None = field(default=None, init=False)     # as read, before the batch

    def __post_init__(self):
        self.stored_birthday = self.standing.birthday

    @property
    def birthday_changed(self):
        """Did the batch set or change the birthday? (The flush then records when: the
        birthday gift waits a while after a change.) The same birthday again is no change."""
        return self.standing.birthday != self.stored_birthday

    def profile(self, ref):
        """Take what a purchase says of the customer (email, birthday, Stripe customer)."""
        if ref.email:
            self.email = ref.email
        if ref.birthday:
            self.standing = replace(self.standing, birthday=ref.birthday)


@dataclass(eq=False)
class OrderRow:
    """An order: stored (`id`, `booked` = what the ledger holds for it) or new in this batch."""

    customer_id: str
    source: str
    order_key: str
    placed_at: datetime
    currency: str
    total: int
    lines: list
    available_on: date | None
    id: int | None = None
    released_at: datetime | None = None
    booked: OrderState | None = None
    final: OrderState | None = None     # after this batch
    version: str | None = None          # the programme version its purchase was evaluated under


@dataclass(eq=False)
class Step:
    """A purchase or refund on a customer's timeline, stored (`id`) or new in this batch."""

    order: OrderRow
    kind: str                       # purchase | refund
    at: datetime
    amount: int
    cumulative: bool = False
    refund_key: str | None = None
    id: int | None = None
    event: Event | None = None      # the inbox event that brought it (new steps)
    parked_id: int | None = None    # the parked refund it came from
    parked_event: int | None = None
    standing_after: dict | None = None
    order_after: dict | None = None

    @property
    def is_new(self):
        return self.id is None


@dataclass
class WritePlan:
    """Every row the batch writes, flushed table by table with multi-row statements."""

    new_orders: list = field(default_factory=list)
    changed_orders: list = field(default_factory=list)
    new_steps: list = field(default_factory=list)
    replayed_steps: list = field(default_factory=list)
    entries: list = field(default_factory=list)          # dicts; "order" holds the OrderRow
    spend: dict = field(default_factory=dict)            # (customer id, day) -> amount to add
    accounts: list = field(default_factory=list)
    new_customers: list = field(default_factory=list)
    parked: list = field(default_factory=list)           # new parked refunds (dicts)
    unparked: list = field(default_factory=list)         # parked refund ids now applied
    outcomes: dict = field(default_factory=dict)         # inbox row id -> Outcome
    tiers_before: dict = field(default_factory=dict)     # customer id -> tier before the batch

    def add_spend(self, customer_id, day, amount):
        if amount:
            key = (customer_id, day)
            self.spend[key] = self.spend.get(key, 0) + amount
