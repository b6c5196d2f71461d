"""Lots: points are used oldest lot first, so what is left sits in the newest lots, and what
is left of a lot on its expiry date expires."""
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules import Lot, expired_by, expires_on, expiring_soonest, held_lots, points_by_date, remaining_lots
from rules.lots import EXPIRING_SHOWN, oldest_first
from tests.rules.strategies import DEFAULT, any_programme

START = date(2025, 1, 1)


@st.composite
def lot_lists(draw, max_size=30):
    """Lots with distinct ids in a random order, often several on one day."""
    days = draw(st.integers(1, 40))
    drawn = draw(st.lists(st.tuples(st.integers(0, days - 1), st.integers(1, 1_000)), max_size=max_size))
    ids = draw(st.permutations(range(1, len(drawn) + 1)))
    return [Lot(entry_id, START + timedelta(days=day), points) for entry_id, (day, points) in zip(ids, drawn)]


def newest_first(lots):
    return list(reversed(oldest_first(lots)))


def total(lots):
    return sum(lot.points for lot in lots)


debits = st.integers(0, 40_000)


@given(lot_lists(), debits)
def test_what_is_left_is_the_credits_less_the_debits_never_below_zero(lots, debited):
    left = remaining_lots(lots, debited)
    assert all(lot.points > 0 for lot in left)
    assert total(left) == max(0, total(lots) - debited)
    by_id = {lot.id: lot for lot in lots}
    assert all(lot.points <= by_id[lot.id].points and lot.available_on == by_id[lot.id].available_on for lot in left)


@given(lot_lists(), debits)
def test_the_oldest_lots_are_used_first(lots, debited):
    """Every lot older than one with anything used is used up; every lot newer than one with
    anything left is untouched; at most one lot is partly used."""
    left = {lot.id: lot.points for lot in remaining_lots(lots, debited)}
    ordered = oldest_first(lots)
    used = [lot.points - left.get(lot.id, 0) for lot in ordered]
    touched = [k for k, amount in enumerate(used) if amount]
    if touched:
        assert touched == list(range(len(touched)))                 # a prefix, oldest first
        assert all(amount == lot.points for amount, lot in zip(used, ordered[:touched[-1]]))
    assert len([k for k, amount in enumerate(used) if 0 < amount < ordered[k].points]) <= 1
    assert [lot.id for lot in remaining_lots(lots, debited)] == [lot.id for lot in ordered if lot.id in left]


@given(lot_lists(), debits)
def test_a_negative_debit_uses_nothing(lots, debited):
    assert remaining_lots(lots, -debited) == oldest_first(lots)


@given(lot_lists(), debits)
def test_the_balance_sits_in_the_newest_lots(lots, debited):
    """Seen from either side, the same rule: what the debits leave (oldest first) is what
    the balance covers (newest first), by date."""
    balance = total(lots) - debited
    assert held_lots(newest_first(lots), balance) == points_by_date(remaining_lots(lots, debited))


@given(lot_lists(), st.integers(-1_000, 40_000))
def test_held_lots_covers_the_balance_as_far_as_the_lots_go(lots, balance):
    held = held_lots(newest_first(lots), balance)
    assert sum(held.values()) == min(max(balance, 0), total(lots))
    assert all(points > 0 for points in held.values())


def test_held_lots_reads_no_lot_past_the_balance():
    """A balance covered by the first lots stops the walk: the rest, perhaps pages not yet
    read, are never asked for."""
    read = []

    def lots():
        for k in range(10):
            read.append(k)
            yield Lot(100 - k, START - timedelta(days=k), 10)

    assert held_lots(lots(), 25) == {START: 10, START - timedelta(days=1): 10, START - timedelta(days=2): 5}
    assert read == [0, 1, 2]
    read.clear()
    assert held_lots(lots(), 30) == {START - timedelta(days=k): 10 for k in range(3)}
    assert read == [0, 1, 2]
    read.clear()
    assert held_lots(lots(), 0) == {} and held_lots(lots(), -5) == {}
    assert read == []


def test_a_spend_takes_the_oldest_lot_first():
    """The test_jobs example: 1,100 points, then 625 five days later; 800 spent."""
    a, b = START, START + timedelta(days=5)
    lots = [Lot(2, b, 625), Lot(1, a, 1_100)]
    assert remaining_lots(lots, 800) == [Lot(1, a, 300), Lot(2, b, 625)]
    assert held_lots(newest_first(lots), 925) == {a: 300, b: 625}
    assert expiring_soonest(DEFAULT, {a: 300, b: 625}) == [(expires_on(DEFAULT, a), 300), (expires_on(DEFAULT, b), 625)]
    assert expired_by(DEFAULT, lots, 800, expires_on(DEFAULT, a) - timedelta(days=1)) == {}
    assert expired_by(DEFAULT, lots, 800, expires_on(DEFAULT, a)) == {a: 300}
    assert expired_by(DEFAULT, lots, 800 + 300, expires_on(DEFAULT, b)) == {b: 625}      # the first expiry booked
    assert expired_by(DEFAULT, lots, 2_000, expires_on(DEFAULT, b)) == {}                 # below zero: nothing


@given(st.data())
def test_expiring_lists_the_soonest_dates_at_most_twelve(data):
    programme = data.draw(any_programme)
    held = points_by_date(data.draw(lot_lists()))
    shown = expiring_soonest(programme, held)
    dates = [on for on, _ in shown]
    assert dates == sorted(set(dates)) and len(shown) == min(EXPIRING_SHOWN, len(held))
    assert shown == [(expires_on(programme, on), held[on]) for on in sorted(held)[:EXPIRING_SHOWN]]
    if len(held) <= EXPIRING_SHOWN:
        assert sum(points for _, points in shown) == sum(held.values())


@given(st.data())
def test_what_expires_is_what_is_left_of_the_lots_past_their_date(data):
    programme = data.draw(any_programme)
    lots, debited = data.draw(lot_lists()), data.draw(debits)
    today = START + timedelta(days=programme.expiry_days + data.draw(st.integers(-2, 42)))
    expired = expired_by(programme, lots, debited, today)
    left = points_by_date(remaining_lots(lots, debited))
    assert expired == {on: points for on, points in left.items() if expires_on(programme, on) <= today}
    assert all(points > 0 for points in expired.values())
    assert sum(expired.values()) <= max(0, total(lots) - debited)


@given(st.data())
def test_booking_an_expiry_leaves_nothing_more_to_expire_that_day(data):
    """The expiry is itself a debit: once booked, the same day finds nothing, and a later
    day finds only lots that were not due before."""
    programme = data.draw(any_programme)
    lots, debited = data.draw(lot_lists()), data.draw(debits)
    first = START + timedelta(days=programme.expiry_days + data.draw(st.integers(0, 20)))
    later = first + timedelta(days=data.draw(st.integers(0, 20)))
    expired = expired_by(programme, lots, debited, first)
    debited += sum(expired.values())
    assert expired_by(programme, lots, debited, first) == {}
    next_time = expired_by(programme, lots, debited, later)
    assert all(first < expires_on(programme, on) <= later for on in next_time)
    assert sum(next_time.values()) + sum(expired.values()) == sum(
        expired_by(programme, lots, debited - sum(expired.values()), later).values())
