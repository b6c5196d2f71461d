"""The birthday gift's rules (rules/birthday.py): on the day, once in 365 days, never for a
birthday just set or changed; 29 February on 28 February in other years."""
from calendar import isleap
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import BirthdayGift, birthday_today, birthdays_on, gift_due, gift_entry

GIFT = BirthdayGift("birthday-gift", 250, 30)
DAY = timedelta(days=1)
birthdays = st.dates(min_value=date(1930, 1, 1), max_value=date(2012, 12, 31))
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2040, 12, 31))


def test_the_gift_is_given_on_the_birthday_only():
    birthday = date(1990, 5, 17)
    assert gift_due(GIFT, birthday, date(2027, 5, 17))
    assert not gift_due(GIFT, birthday, date(2027, 5, 16))
    assert not gift_due(GIFT, birthday, date(2027, 5, 18))
    assert not gift_due(GIFT, None, date(2027, 5, 17))                   # no birthday, no gift
    assert not gift_due(None, birthday, date(2027, 5, 17))               # a programme without the gift


def test_29_february_is_celebrated_on_28_february_in_other_years():
    leapling = date(2000, 2, 29)
    assert gift_due(GIFT, leapling, date(2027, 2, 28))
    assert not gift_due(GIFT, leapling, date(2027, 3, 1))
    assert gift_due(GIFT, leapling, date(2028, 2, 29))
    assert not gift_due(GIFT, leapling, date(2028, 2, 28))               # a leap year has its own day
    assert birthdays_on(date(2027, 2, 28)) == [(2, 28), (2, 29)]
    assert birthdays_on(date(2028, 2, 28)) == [(2, 28)]
    assert birthdays_on(date(2028, 2, 29)) == [(2, 29)]


def test_once_in_365_days():
    birthday, today = date(1990, 5, 17), date(2027, 5, 17)
    assert not gift_due(GIFT, birthday, today, last_gift_on=today)                   # the same day again
    assert not gift_due(GIFT, birthday, today, last_gift_on=today - 364 * DAY)
    assert gift_due(GIFT, birthday, today, last_gift_on=today - 365 * DAY)
    assert gift_due(GIFT, birthday, today, last_gift_on=date(2026, 5, 17))           # a year ago
    assert not gift_due(GIFT, birthday, today, last_gift_on=today + DAY)             # a gift dated later


def test_not_for_a_birthday_set_or_changed_recently():
    birthday, today = date(1990, 5, 17), date(2027, 5, 17)
    assert not gift_due(GIFT, birthday, today, set_on=today)
    assert not gift_due(GIFT, birthday, today, set_on=today - 10 * DAY)
    assert not gift_due(GIFT, birthday, today, set_on=today - 29 * DAY)
    assert gift_due(GIFT, birthday, today, set_on=today - 30 * DAY)
    assert gift_due(GIFT, birthday, today, set_on=None)                               # unknown: long ago
    assert gift_due(BirthdayGift("g", 1, 0), birthday, today, set_on=today)           # no wait at all


def test_the_entry_names_the_rule_and_the_points():
    entry = gift_entry(GIFT)
    assert entry.points == 250
    assert entry.reason == "Birthday gift (birthday-gift): 250 points"
    assert entry.rules == (("birthday-gift", 250),)


@given(birthdays, days)
def test_the_query_reads_exactly_the_birthdays_of_the_day(birthday, today):
    assert birthday_today(None, birthday, today) == ((birthday.month, birthday.day) in birthdays_on(today))


@settings(max_examples=40, deadline=None)
@given(birthdays, days, st.integers(0, 400), st.lists(st.tuples(st.integers(0, 4 * 366), birthdays), max_size=3),
       st.integers(0, 60))
def test_daily_runs_give_one_gift_a_year_at_most_and_none_after_a_change(birthday, start, set_before, changes,
                                                                         recent):
    """Run every day for four years, twice a day, with the birthday changed now and then:
    every gift is on the birthday of the day, at least 365 days after the one before, and
    at least `recent_change_days` after the birthday was set; and with no change, every
    year's birthday gets its gift."""
    gift = BirthdayGift("g", 10, recent)
    changes = dict(changes)
    set_on, last, given_on = start - set_before * DAY, None, []
    for offset in range(4 * 366):
        today = start + offset * DAY
        if offset in changes and changes[offset] != birthday:
            birthday, set_on = changes[offset], today
        for _ in range(2):
            if gift_due(gift, birthday, today, set_on, last):
                last = today
                given_on.append(today)
                assert birthday_today(None, birthday, today) and (today - set_on).days >= recent
    assert all((later - earlier).days >= 365 for earlier, later in zip(given_on, given_on[1:]))
    if not changes and set_before >= recent:
        celebrated = [day for day in (start + n * DAY for n in range(4 * 366)) if birthday_today(None, birthday, day)]
        assert given_on == celebrated


def test_a_leapling_gets_one_gift_every_year():
    leapling, gifts, last = date(2004, 2, 29), [], None
    day = date(2026, 1, 1)
    while day < date(2034, 1, 1):
        if gift_due(GIFT, leapling, day, None, last):
            gifts.append(last := day)
        day += DAY
    assert gifts == [date(y, 2, 29 if isleap(y) else 28) for y in range(2026, 2034)]
