"""Request and response bodies of the /v1 API. Requests refuse unknown fields (422)."""
import marshmallow as ma
from marshmallow import validate

from loyalty import inputs
from loyalty.inputs import Text
from loyalty.models import Customer, Redemption, SupportAction
from loyalty.webhooks.parsing import MAX_AMOUNT

MAX_PAGE = 100


class Money(ma.Schema):
    amount = ma.fields.Integer(required=True, strict=True, validate=validate.Range(0, MAX_AMOUNT),
                               metadata={"description": "Integer minor units (cents for EUR)."})
    currency = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z]{3}$"),
                                metadata={"description": "ISO 4217 code: the programme's currency."})


class Enrolment(ma.Schema):
    email = inputs.Email(Customer.email, allow_none=True)
    birthday = inputs.Date(allow_none=True, metadata={
        "description": "Earns the birthday-month bonus, and the birthday gift when the programme gives one (not "
                       "within its `recent_change_days` of setting or changing the birthday)."})
    stripe_customer_id = Text(Customer.stripe_customer_id, least=1, allow_none=True,
                              metadata={"description": "Links Stripe payments without metadata."})


class CustomerOut(ma.Schema):
    id = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    birthday = ma.fields.Date(allow_none=True)
    stripe_customer_id = ma.fields.String(allow_none=True)


class Expiring(ma.Schema):
    points = ma.fields.Integer()
    on = ma.fields.Date()


class Points(ma.Schema):
    available = ma.fields.Integer(metadata={"description": "Redeemable now; may be negative after a refund."})
    pending = ma.fields.Integer(metadata={"description": "Earned, inside the return window."})
    expiring = ma.fields.List(ma.fields.Nested(Expiring), metadata={"description": "Soonest first, at most 12."})


class NextTier(ma.Schema):
    name = ma.fields.String()
    spend_needed = ma.fields.Nested(Money)


class TierOut(ma.Schema):
    name = ma.fields.String()
    since = ma.fields.DateTime(allow_none=True)
    next = ma.fields.Nested(NextTier, allow_none=True)


class Balance(ma.Schema):
    customer_id = ma.fields.String()
    points = ma.fields.Nested(Points)
    tier = ma.fields.Nested(TierOut)
    discount_percent = ma.fields.Integer()
    qualifying_spend = ma.fields.Nested(Money, metadata={"description": "Net spend of the trailing 365 days."})
    lifetime_spend = ma.fields.Nested(Money)
    priority_support = ma.fields.Boolean()


class WillDowngrade(ma.Schema):
    on = ma.fields.Date(metadata={"description": "The first day a tier review would lower the tier."})
    to = ma.fields.String(metadata={"description": "The tier it would fall to."})
    spend_needed = ma.fields.Nested(Money, metadata={"description": "More qualifying spend by then keeps it."})


class Outlook(ma.Schema):
    customer_id = ma.fields.String()
    pending = ma.fields.List(ma.fields.Nested(Expiring), metadata={
        "description": "Pending points by the day they become available, soonest first."})
    response_target_hours = ma.fields.Integer(metadata={"description": "First response target of support."})
    next_tier_spend_counts_until = ma.fields.Date(allow_none=True, metadata={
        "description": "The last day on which the balance's `tier.next.spend_needed` still reaches the next tier "
                       "(after it the oldest spend leaves the window); null: no date (no spend ages out)."})
    will_downgrade = ma.fields.Nested(WillDowngrade, allow_none=True, metadata={
        "description": "A review in the coming days would lower the tier (null: it would not)."})


class Page(ma.Schema):
    limit = ma.fields.Integer(load_default=20, validate=validate.Range(1, MAX_PAGE),
                              metadata={"description": f"Entries per page, at most {MAX_PAGE}."})
    cursor = Text(most=64, load_default=None,
                              metadata={"description": "`next_cursor` of the previous page."})


class Entry(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": ["earn", "welcome", "correction", "clawback", "release",
                                               "redemption", "expiry", "adjustment", "birthday"],
                                      "description": "`birthday`: the programme's birthday gift."})
    points = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": ["pending", "available"]})
    at = ma.fields.DateTime()
    order_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String()
    rules = ma.fields.List(ma.fields.String(), metadata={"description": "Ids of the rules that produced it."})
    programme_version = ma.fields.String(allow_none=True)
    by = ma.fields.String(allow_none=True, metadata={"description": "Who did it, for support actions."})
    source = ma.fields.String(allow_none=True, metadata={
        "description": "Where it came from: the event's source (`stripe`, `shop`, `import`), `api` (redemptions, "
                       "goodwill) or `jobs` (release, expiry, birthday gifts).",
        "enum": ["stripe", "shop", "import", "api", "jobs"]})


class Transactions(ma.Schema):
    entries = ma.fields.List(ma.fields.Nested(Entry))
    next_cursor = ma.fields.String(allow_none=True)


class QuoteIn(ma.Schema):
    order_total = ma.fields.Nested(Money, required=True)
    redeem_points = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 10**12))


class Refusal(ma.Schema):
    code = ma.fields.String()
    message = ma.fields.String()
    details = ma.fields.Dict()


class QuoteOut(ma.Schema):
    discount_percent = ma.fields.Integer()
    discount = ma.fields.Nested(Money)
    points_redeemable_max = ma.fields.Integer()
    redeem_points = ma.fields.Integer()
    redeem_amount = ma.fields.Nested(Money)
    total_after = ma.fields.Nested(Money)
    redeem_refused = ma.fields.Nested(Refusal, allow_none=True,
                                      metadata={"description": "Why `redeem_points` cannot be redeemed, if so."})
    programme_version = ma.fields.String()


class RedemptionIn(ma.Schema):
    points = ma.fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**12))
    order_id = Text(Redemption.order_id, least=1, required=True)
    order_total = ma.fields.Nested(Money, metadata={
        "description": "Optional: the order's total, so the share-of-order cap is enforced here too."})


class RedemptionOut(ma.Schema):
    id = ma.fields.Integer()
    points = ma.fields.Integer()
    order_id = ma.fields.String()
    amount_off = ma.fields.Nested(Money)


class Manual(ma.Schema):
    reason = ma.fields.String()
    until = ma.fields.DateTime()
    by = ma.fields.String()


class Flags(ma.Schema):
    customer_id = ma.fields.String()
    priority = ma.fields.Boolean()
    tier = ma.fields.String()
    response_target_hours = ma.fields.Integer()
    reasons = ma.fields.List(ma.fields.String(), metadata={"description": "For example `tier:gold`, `manual`."})
    manual = ma.fields.Nested(Manual, allow_none=True)


class PriorityIn(ma.Schema):
    reason = Text(Customer.manual_priority_reason, least=1, required=True)
    until = inputs.AwareDateTime(required=True, metadata={"description": "ISO 8601 with a zone, in the future."})


class AdjustmentIn(ma.Schema):
    points = ma.fields.Integer(required=True, strict=True, validate=validate.Range(-(10**12), 10**12),
                               metadata={"description": "Goodwill points: at least 1, at most the programme's cap."})
    reason = Text(SupportAction.reason, least=1, required=True)


class AdjustmentOut(ma.Schema):
    id = ma.fields.Integer()
    points = ma.fields.Integer()
    reason = ma.fields.String()
    by = ma.fields.String()
    available = ma.fields.Integer()


class IdempotencyHeader(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE     # every other header

    idempotency_key = Text(Redemption.idempotency_key, least=1, data_key="Idempotency-Key", required=True)
