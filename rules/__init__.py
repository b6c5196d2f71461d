"""The rules engine: the loyalty programme as data, evaluated by pure functions.

Standard library only: no Flask, no SQLAlchemy, no clock (time is an argument), no I/O
beyond loading a programme file. The service calls the names below; each returns new
frozen values with the ids of the rules that produced them and the programme version.
"""
from rules.birthday import GiftEntry, birthdays_on, gift_due, gift_entry
from rules.calendar import available_on, expires_on, in_window, local_date, window_start
from rules.discount import discount_amount, discount_for
from rules.earning import Earning, max_points_for, points_for
from rules.loading import ProgrammeError, load_programme, loads_programme, parse_programme
from rules.lots import Lot, expired_by, expiring_soonest, held_lots, points_by_date, remaining_lots
from rules.notices import DowngradeForecast, ExpiryNotice, birthday_today, downgrade_forecast, expiry_notices
from rules.programme import BirthdayGift, Programme
from rules.purchases import PurchaseOutcome, apply_purchase
from rules.redemption import Quote, RedemptionRefused, check_redemption, points_value, quote
from rules.refunds import RefundOutcome, apply_refund, clawback_for
from rules.standing import Line, OrderState, Purchase, RuleHit, Standing
from rules.support import GoodwillRefused, ManualPriority, SupportFlags, check_goodwill, support_flags
from rules.tiers import TierChange, qualify_tier, review_tier, tier_after_purchase, tier_after_refund

__all__ = [
    "BirthdayGift", "DowngradeForecast", "Earning", "ExpiryNotice", "GiftEntry", "GoodwillRefused", "Line",
    "Lot", "ManualPriority", "OrderState", "Programme", "ProgrammeError", "Purchase", "PurchaseOutcome",
    "Quote", "RedemptionRefused", "RefundOutcome", "RuleHit", "Standing", "SupportFlags", "TierChange",
    "apply_purchase", "apply_refund", "available_on", "birthday_today", "birthdays_on", "check_goodwill",
    "check_redemption", "clawback_for", "discount_amount", "discount_for", "downgrade_forecast", "expired_by",
    "expires_on", "expiring_soonest", "expiry_notices", "gift_due", "gift_entry", "held_lots", "in_window",
    "load_programme", "loads_programme", "local_date", "max_points_for", "parse_programme", "points_by_date",
    "points_for", "points_value", "qualify_tier", "quote", "remaining_lots", "review_tier", "support_flags",
    "tier_after_purchase", "tier_after_refund", "window_start",
]
