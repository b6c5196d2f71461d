"""The accounting identity and the liability, as rules/accounting.py states them."""
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.accounting import MOVEMENTS, Liability, closing, liability, movements
from rules.redemption import points_value
from tests.rules.strategies import DEFAULT

KINDS = [("earn", "pending"), ("welcome", "pending"), ("correction", "pending"), ("correction", "available"),
         ("clawback", "pending"), ("clawback", "available"), ("release", "pending"), ("release", "available"),
         ("redemption", "available"), ("expiry", "available"), ("adjustment", "available"), ("birthday", "available")]


def test_each_kind_is_its_movement():
    sums = {("earn", "pending"): 100, ("welcome", "pending"): 50, ("correction", "available"): -7,
            ("adjustment", "available"): 30, ("redemption", "available"): -40, ("expiry", "available"): -5,
            ("clawback", "pending"): -3, ("clawback", "available"): -2, ("release", "pending"): -60,
            ("release", "available"): 60, ("birthday", "available"): 250}
    assert movements(sums) == {"earned": 400, "corrected": -7, "adjusted": 30, "redeemed": 40, "expired": 5,
                               "clawed_back": 5, "released": 60}
    assert closing(1000, movements(sums)) == 1000 + 400 - 7 + 30 - 40 - 5 - 5


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        movements({("bonus", "available"): 5})


@given(st.dictionaries(st.sampled_from(KINDS), st.integers(-10**9, 10**9)), st.integers(-10**9, 10**9))
def test_the_closing_is_the_opening_plus_every_entry(sums, opening):
    """Release pairs move points inside the balance: whatever they are, the closing is the
    opening plus the sum of every entry, once the pair nets to zero."""
    sums = {**sums, ("release", "pending"): -sums.get(("release", "available"), 0)}
    assert closing(opening, movements(sums)) == opening + sum(sums.values())
    assert set(movements(sums)) == set(MOVEMENTS)


def test_the_liability_is_the_value_less_the_expected_breakage():
    owed = liability(DEFAULT, 1500, 500, redeemed=3000, expired=1000)
    value = points_value(DEFAULT, 2000)
    assert owed == Liability(1500, 500, value, 250_000, value - value // 4)


def test_without_history_no_breakage_is_expected_and_without_redemption_nothing_is_owed():
    assert liability(DEFAULT, 100, 0, 0, 0).expected_breakage_ppm == 0
    assert liability(DEFAULT, -50, 0, 0, 10).value == 0                         # a negative balance owes nothing
    assert liability(replace(DEFAULT, redemption=None), 100, 0, 1, 1) == Liability(100, 0, 0, 500_000, 0)
