"""The tier mix by month, worked out by hand; with the customers who held only the lowest tier\ncounted (what the report reads), equal to the mix of each customer."""
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.tier_mix import only_lowest, tier_mix, tier_mix_counted
from tests.rules.strategies import DEFAULT


def moment(month, day):
    return datetime(2026, month, day, 12, tzinfo=timezone.utc)


MONTHS = [(f"2026-0{m}", datetime(2026, m, 1, tzinfo=timezone.utc), datetime(2026, m + 1, 1, tzinfo=timezone.utc))
          for m in (1, 2, 3, 4)]


def test_customers_per_tier_at_each_months_end_and_the_moves():
    changes = {"a": [(moment(4, 2), "standard"), (moment(2, 10), "gold"), (moment(3, 5), "gold")],
               "c": [(moment(2, 21), "platinum"), (moment(2, 25), "gold")]}
    enrolled = {"a": moment(1, 5), "b": moment(3, 1), "c": moment(2, 20), "d": moment(5, 1)}
    rows = tier_mix(DEFAULT, changes, enrolled, MONTHS)
    assert [(r["month"], r["tiers"], r["up"], r["down"]) for r in rows] == [
        ("2026-01", {"standard": 1, "gold": 0, "platinum": 0}, 0, 0),
        ("2026-02", {"standard": 0, "gold": 2, "platinum": 0}, 2, 1),     # a up, c up then down
        ("2026-03", {"standard": 1, "gold": 2, "platinum": 0}, 0, 0),     # a's gold again: no move
        ("2026-04", {"standard": 2, "gold": 1, "platinum": 0}, 0, 1),     # the review lowers a
    ]


def test_a_tier_since_removed_counts_as_the_lowest():
    rows = tier_mix(DEFAULT, {"a": [(moment(1, 2), "silver")]}, {"a": moment(1, 1)}, MONTHS[:1])
    assert rows[0]["tiers"]["standard"] == 1 and (rows[0]["up"], rows[0]["down"]) == (0, 0)


MOMENTS = st.integers(0, 150 * 86400).map(lambda s: datetime(2025, 12, 15, tzinfo=timezone.utc) + timedelta(seconds=s))
TIERS = st.sampled_from(["standard", "gold", "platinum", "silver"])        # silver: a tier since removed


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from("abcdefgh"), MOMENTS),
       st.dictionaries(st.sampled_from("abcdefghij"), st.lists(st.tuples(MOMENTS, TIERS), max_size=4)),
       st.integers(1, 4))
def test_the_mix_with_the_lowest_tier_counted_equals_the_mix_of_each_customer(enrolled, changes, count):
    # As the report has it: a customer with changes counts from its first one, if earlier.
    for customer, history in changes.items():
        if history:
            first = min(at for at, _ in history)
            enrolled[customer] = min(enrolled.get(customer, first), first)
    months = MONTHS[:count]
    lowest = {c for c in enrolled if only_lowest(DEFAULT, changes.get(c, ()))}
    by_month_end = [sum(1 for c in lowest if enrolled[c] < end) for _, _, end in months]
    others = {c: since for c, since in enrolled.items() if c not in lowest}
    assert tier_mix_counted(DEFAULT, changes, others, months, by_month_end) == tier_mix(DEFAULT, changes, enrolled,
                                                                                         months)
