"""Redemption limits and support flags beyond the default numbers."""
import copy
import tomllib
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import (GoodwillRefused, ManualPriority, RedemptionRefused, Standing, check_goodwill, check_redemption,
                   parse_programme, points_value, quote, support_flags)
from rules.loading import DEFAULT_PATH
from tests.rules.strategies import DEFAULT

DOCUMENT = tomllib.loads(DEFAULT_PATH.read_text())
AT = datetime(2026, 11, 22, tzinfo=timezone.utc)


def with_currency(code):
    document = copy.deepcopy(DOCUMENT)
    document["currency"] = code
    return parse_programme(document)


def refusal(programme, available, total, points):  # noqa: D103
    with pytest.raises(RedemptionRefused) as caught:
        check_redemption(programme, available, total, points)
    return caught.value.code


def test_each_refusal_has_its_code():
    assert refusal(DEFAULT, -1, 10_000, 500) == "negative_balance"
    assert refusal(DEFAULT, 10_000, 10_000, 499) == "below_minimum"
    assert refusal(DEFAULT, 600, 10_000, 700) == "insufficient_points"
    assert refusal(DEFAULT, 10_000, 1_000, 600) == "above_order_maximum"


def test_yen_points_are_redeemed_in_whole_yen_so_no_point_is_wasted():
    jpy = with_currency("JPY")                      # 100 points = 1 yen
    assert points_value(jpy, 1_000) == 10
    assert refusal(jpy, 10_000, 100_000, 550) == "not_whole_amount"
    assert check_redemption(jpy, 10_000, 100_000, 600) == 6
    assert quote(jpy, Standing("standard", points_available=10_050), 100_000).points_redeemable_max == 10_000


def test_the_discount_and_the_points_never_take_the_total_below_zero():
    document = copy.deepcopy(DOCUMENT)
    document["discounts"] = [{"from": 0, "percent": 80}]
    document["redemption"]["max_order_percent"] = 100
    generous = parse_programme(document)
    q = quote(generous, Standing("standard", points_available=100_000), 10_000, 2_000)
    assert (q.discount, q.points_redeemable_max, q.redeem_amount, q.total_after) == (8_000, 2_000, 2_000, 0)


@given(st.integers(0, 10**7), st.integers(-1_000, 10**6), st.none() | st.integers(0, 10**6), st.integers(0, 10**7))
def test_a_quote_never_gives_more_than_the_order_or_the_points(total, available, redeem, lifetime):
    q = quote(DEFAULT, Standing("standard", lifetime_spend=lifetime, points_available=available), total, redeem)
    assert 0 <= q.total_after <= total
    assert 0 <= q.points_redeemable_max <= max(available, 0)
    assert q.redeem_amount <= total * DEFAULT.redemption.max_order_percent // 100
    if q.refusal is None:
        assert q.redeem_points == (redeem or 0)
    else:
        assert redeem is not None and (q.redeem_points, q.redeem_amount) == (0, 0)
    assert q.discount + q.redeem_amount + q.total_after == total


def test_goodwill_must_be_positive_and_within_the_cap():
    assert check_goodwill(DEFAULT, 1) == 1
    for points, code in ((0, "not_positive"), (-5, "not_positive"), (1_001, "above_goodwill_cap")):
        with pytest.raises(GoodwillRefused) as caught:
            check_goodwill(DEFAULT, points)
        assert caught.value.code == code


def test_manual_priority_adds_its_reason_to_the_tier_reason_while_it_lasts():
    manual = ManualPriority("lost parcel", AT + timedelta(hours=1), "agent-7")
    flags = support_flags(DEFAULT, "gold", manual, AT)
    assert (flags.priority, flags.response_target_hours, flags.reasons) == (True, 2, ("tier:gold", "manual"))
    assert support_flags(DEFAULT, "gold", manual, AT + timedelta(hours=2)).reasons == ("tier:gold",)


def test_without_the_order_total_every_rule_but_the_order_share_is_checked():
    assert check_redemption(DEFAULT, 10_000, None, 8_000) == 8_000
    assert refusal(DEFAULT, 10_000, None, 400) == "below_minimum"
    assert refusal(DEFAULT, 600, None, 700) == "insufficient_points"
