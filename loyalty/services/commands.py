"""What the webhooks report, once parsed and validated: the same commands whichever
checkout (Stripe or the shop's own) sent them."""
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class CustomerRef:
    """`id` None (Stripe): the customer enrolled with `stripe_customer_id`, else that id itself.
    With both, the Stripe customer is linked to `id` if no customer has it yet."""

    id: str | None
    email: str | None = None
    birthday: date | None = None
    stripe_customer_id: str | None = None


@dataclass(frozen=True)
class ReportPurchase:
    source: str
    order_key: str
    customer: CustomerRef
    at: datetime
    total: int
    currency: str
    lines: tuple = field(default=())


@dataclass(frozen=True)
class ReportRefund:
    """`amount` is this refund's own amount, or with `cumulative` (Stripe's
    `amount_refunded`) everything refunded on the order so far."""

    source: str
    order_key: str
    refund_key: str
    at: datetime
    amount: int
    currency: str
    cumulative: bool = False
