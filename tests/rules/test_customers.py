"""The retention measures and the cohort table, as rules/customers.py states them; the measures
from group totals and the table from counts (what the report reads) equal the per-customer ones."""
from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.customers import (MAX_YEARS, Buyer, Retention, Totals, buying_by_month, cohort_retention, cohort_shares,
                             measures, retention, totals)

TODAY = date(2026, 6, 30)


def test_measures_worked_out_by_hand():
    buyers = [Buyer(3, 30_000, date(2026, 6, 1), 2), Buyer(1, 10_000, date(2025, 1, 1), 0),
              Buyer(0, 0, date(2020, 1, 1), 0)]                    # no order: not a buyer
    assert retention(buyers, TODAY, 90) == Retention(
        customers=2, active=1, churned=1, churn_rate=Fraction(1, 2), repeat_purchase_rate=Fraction(1, 2),
        average_order_value=10_000, purchases_a_year=Fraction(2), years_retained=Fraction(2),
        lifetime_value=40_000)


def test_the_churn_window_is_exclusive_and_years_are_capped():
    on_the_edge = Buyer(1, 999, date(2026, 4, 1), 1)               # 90 days before TODAY: churned at 90
    assert retention([on_the_edge], TODAY, 90).churned == 1
    assert retention([on_the_edge], TODAY, 91).active == 1
    many = [Buyer(1, 100, TODAY, 1)] * 20 + [Buyer(1, 100, date(2020, 1, 1), 0)]
    assert retention(many, TODAY, 30).years_retained == MAX_YEARS           # 21 / 1 churned, capped
    assert retention(many[:3], TODAY, 30).years_retained == MAX_YEARS       # nobody churned
    assert retention(many[:3], TODAY, 30).lifetime_value == 100 * 1 * MAX_YEARS


def test_nobody_bought():
    assert retention([], TODAY, 30) == Retention(0, 0, 0, Fraction(0), Fraction(0), 0, Fraction(0), Fraction(0), 0)


def test_cohort_retention_by_month_after_the_first():
    january, february = 2026 * 12, 2026 * 12 + 1
    months = {"a": [january, january, february + 1], "b": [january], "c": [february]}
    cohorts = {"a": january, "b": january, "c": february}
    assert cohort_retention(months, cohorts) == {
        january: [Fraction(1), Fraction(0), Fraction(1, 2)], february: [Fraction(1)]}


buyers = st.lists(st.builds(lambda orders, spend, days_ago, recent: Buyer(orders, spend, TODAY - timedelta(days_ago),
                                                                            min(recent, orders)),
                            st.integers(0, 4), st.integers(0, 100_000), st.integers(0, 800), st.integers(0, 4)),
                  max_size=12)


@settings(max_examples=300)
@given(buyers, st.integers(1, 400), st.lists(st.integers(0, 2), max_size=12))
def test_the_measures_from_totals_equal_the_ones_from_each_buyer_and_totals_add_up(found, churn_days, groups):
    assert measures(totals(found, TODAY, churn_days)) == retention(found, TODAY, churn_days)
    parts = [[b for b, g in zip(found, groups + [0] * len(found)) if g == group] for group in range(3)]
    assert sum((totals(part, TODAY, churn_days) for part in parts), Totals()) == totals(found, TODAY, churn_days)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from("abcdefgh"), st.lists(st.integers(24_300, 24_330), min_size=1, max_size=5)))
def test_the_cohort_table_from_counts_equals_the_one_from_each_customer(months):
    cohorts = {customer: min(bought) for customer, bought in months.items()}
    sizes = {}
    for first in cohorts.values():
        sizes[first] = sizes.get(first, 0) + 1
    assert cohort_shares(sizes, buying_by_month(months, cohorts)) == cohort_retention(months, cohorts)
