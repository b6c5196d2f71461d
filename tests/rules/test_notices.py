"""Notices: points expiring are announced at the nearest lead time due, a tier that a review
would lower is forecast within the horizon, and a birthday falls on its day (29 February on
28 February in other years). Plus the `[notices]` settings as loading reads them."""
import copy
import json
import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import (DowngradeForecast, ExpiryNotice, Lot, Standing, birthday_today,
                   downgrade_forecast, expires_on, expiry_notices, held_lots, load_programme, local_date,
                   parse_programme, points_by_date, review_tier)
from rules.loading import DEFAULT_PATH
from rules.notices import start_of_day
from rules.programme import Notices
from tests.rules.strategies import DEFAULT, any_programme, standings
from tests.rules.test_loading import problems_of

DOCUMENT = tomllib.loads(DEFAULT_PATH.read_text())
TODAY = date(2026, 6, 1)
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)
GOLD = 100_000
PLATINUM = 500_000


def programme_with(**notices):
    document = copy.deepcopy(DOCUMENT)
    document["notices"] = notices
    return parse_programme(document)


def became_available_for(expiry, programme=DEFAULT):
    """The date points must have become available on to expire on `expiry`."""
    return expiry - timedelta(days=programme.expiry_days)


# Loading -----------------------------------------------------------------------------------

def test_the_default_sends_notices_30_and_7_days_ahead_and_warns_30_days_ahead():
    assert DEFAULT.notices == Notices() == Notices((30, 7), 30)


def test_a_programme_without_notices_loads_unchanged():
    document = copy.deepcopy(DOCUMENT)
    del document["notices"]
    assert parse_programme(document) == load_programme()


def test_lead_times_are_kept_longest_first():
    programme = programme_with(expiring_days=[7, 60, 14], downgrade_days=45)
    assert programme.notices == Notices((60, 14, 7), 45)


def test_json_notices_are_read_like_toml(tmp_path):
    document = copy.deepcopy(DOCUMENT)
    document["notices"] = {"expiring_days": [1, 3650], "downgrade_days": 3650}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(document, default=str))
    assert load_programme(path).notices == Notices((3650, 1), 3650)


def test_no_lead_times_sends_no_expiry_notices():
    programme = programme_with(expiring_days=[])
    assert programme.notices == Notices((), 30)
    assert expiry_notices(programme, {became_available_for(TODAY + timedelta(days=3)): 10}, TODAY) == []


def notices_set(value):
    return lambda d: d["notices"].update(value)


def lead(value):
    return notices_set({"expiring_days": value})


RANGE = "must be a whole number from 1 to 3650, not"


@pytest.mark.parametrize("change, expected", [
    (lead([30, 0]), f"notices.expiring_days[1]: {RANGE} 0"),
    (lead([3651]), f"notices.expiring_days[0]: {RANGE} 3651"),
    (lead([30, "7"]), f"notices.expiring_days[1]: {RANGE} '7'"),
    (lead([True]), f"notices.expiring_days[0]: {RANGE} True"),
    (lead([None]), f"notices.expiring_days[0]: {RANGE} None"),
    (lead([7.5]), f"notices.expiring_days[0]: {RANGE} 7.5"),
    (lead([30, 7, 30]), "notices.expiring_days[2]: 30 is listed more than once"),
    (lead(30), "notices.expiring_days: must be a list of whole numbers"),
    (notices_set({"downgrade_days": 0}), "notices.downgrade_days: must be at least 1"),
    (notices_set({"downgrade_days": 3651}), "notices.downgrade_days: must be at most 3650"),
    (notices_set({"downgrade_days": "30"}), "notices.downgrade_days: must be a whole number, not str '30'"),
    (notices_set({"downgrade_days": None}), "notices.downgrade_days: must be a whole number, not null"),
    (notices_set({"birthday_days": 1}), "notices.birthday_days: is not a known setting"),
    (lambda d: d.update({"notices": 5}), "notices: must be a table"),
])
def test_each_notices_problem_is_named_with_its_place(change, expected):
    assert expected in problems_of(change)


def test_every_notices_problem_is_reported_at_once():
    problems = problems_of(notices_set({"expiring_days": [7, 7, 0], "downgrade_days": 0, "weekly": True}))
    assert problems == ["notices.expiring_days[1]: 7 is listed more than once",
                        "notices.expiring_days[2]: must be a whole number from 1 to 3650, not 0",
                        "notices.downgrade_days: must be at least 1",
                        "notices.weekly: is not a known setting"]


# Points expiring ---------------------------------------------------------------------------

@pytest.mark.parametrize("days_away, lead", [
    (40, None), (31, None), (30, 30), (20, 30), (8, 30), (7, 7), (5, 7), (1, 7), (0, None), (-3, None),
])
def test_the_nearest_lead_time_due_is_the_one_sent(days_away, lead):
    expiry = TODAY + timedelta(days=days_away)
    notices = expiry_notices(DEFAULT, {became_available_for(expiry): 120}, TODAY)
    assert notices == ([] if lead is None else [ExpiryNotice(on=expiry, points=120, lead_days=lead)])


def test_each_expiry_date_is_one_notice_soonest_first():
    lots = [Lot(1, TODAY - timedelta(days=345), 50), Lot(2, TODAY - timedelta(days=345), 70),   # in 20 days
            Lot(3, TODAY - timedelta(days=362), 30),                                           # in 3 days
            Lot(4, TODAY - timedelta(days=300), 500),                                          # in 65 days
            Lot(5, TODAY - timedelta(days=365), 900)]                                          # today: gone
    held = held_lots(sorted(lots, key=lambda lot: (lot.available_on, lot.id), reverse=True), 10_000)
    assert held == points_by_date(lots)
    assert expiry_notices(DEFAULT, held, TODAY) == [
        ExpiryNotice(TODAY + timedelta(days=3), 30, 7),
        ExpiryNotice(TODAY + timedelta(days=20), 120, 30),
    ]
    notice = expiry_notices(DEFAULT, held, TODAY)[0]
    assert (notice.on, notice.points, notice.lead_days) == (TODAY + timedelta(days=3), 30, 7)


def test_nothing_held_announces_nothing():
    soon = became_available_for(TODAY + timedelta(days=5))
    assert expiry_notices(DEFAULT, {}, TODAY) == []
    assert expiry_notices(DEFAULT, {soon: 0, soon - timedelta(days=1): -40}, TODAY) == []
    assert expiry_notices(DEFAULT, {soon: 0, soon + timedelta(days=1): 40}, TODAY) == [
        ExpiryNotice(TODAY + timedelta(days=6), 40, 7)]


def test_lead_times_need_not_be_given_in_order():
    programme = replace(DEFAULT, notices=Notices((7, 60, 14)))
    held = {became_available_for(TODAY + timedelta(days=k)): k for k in (2, 14, 15, 60, 61)}
    assert [(n.points, n.lead_days) for n in expiry_notices(programme, held, TODAY)] == [(2, 7), (14, 14), (15, 60),
                                                                                          (60, 60)]


@given(any_programme, st.dictionaries(st.dates(date(2024, 1, 1), date(2027, 12, 31)), st.integers(-100, 10_000)),
       st.dates(date(2024, 6, 1), date(2028, 12, 31)),
       st.lists(st.integers(1, 400), unique=True, max_size=4))
def test_every_notice_is_the_nearest_lead_due_and_none_is_missed(programme, held, today, leads):
    programme = replace(programme, notices=Notices(tuple(leads)))
    notices = expiry_notices(programme, held, today)
    expected = {}
    for became_available, points in held.items():
        if points > 0:
            on = expires_on(programme, became_available)
            expected[on] = expected.get(on, 0) + points
    shown = {}
    for on, points in expected.items():
        days = (on - today).days
        due = sorted(lead for lead in leads if lead >= days > 0)
        if due:
            shown[on] = (points, due[0])
    assert [n.on for n in notices] == sorted(shown)
    assert {n.on: (n.points, n.lead_days) for n in notices} == shown


# A tier about to fall ----------------------------------------------------------------------

def gold(**fields):
    return Standing(tier=fields.pop("tier", "gold"), tier_since=fields.pop("tier_since", LONG_AGO), **fields)


def test_spend_ageing_out_is_forecast_on_the_day_it_leaves_the_window():
    bought = TODAY - timedelta(days=355)         # counts through bought + 364, ages out on bought + 365
    forecast = downgrade_forecast(DEFAULT, gold(qualifying_spend=10**9), {bought: GOLD}, TODAY)
    assert forecast == DowngradeForecast(on=bought + timedelta(days=365), tier="gold", to="standard",
                                         spend_needed=GOLD, qualifying_spend=0)
    assert forecast.on == TODAY + timedelta(days=10)


def test_what_still_counts_on_that_day_lowers_what_is_needed():
    buckets = {TODAY - timedelta(days=355): 70_000, TODAY - timedelta(days=100): 30_000, TODAY: 5_000}
    forecast = downgrade_forecast(DEFAULT, gold(), buckets, TODAY)
    assert (forecast.on, forecast.qualifying_spend, forecast.spend_needed) == (TODAY + timedelta(days=10), 35_000,
                                                                               65_000)


def test_spend_already_below_the_tier_after_the_hold_is_forecast_today():
    forecast = downgrade_forecast(DEFAULT, gold(), {TODAY - timedelta(days=3): 99_999}, TODAY)
    assert (forecast.on, forecast.to, forecast.spend_needed, forecast.qualifying_spend) == \
        (TODAY, "standard", 1, 99_999)


def test_spend_that_keeps_the_tier_through_the_horizon_forecasts_nothing():
    assert downgrade_forecast(DEFAULT, gold(), {TODAY - timedelta(days=300): GOLD}, TODAY) is None
    assert downgrade_forecast(DEFAULT, gold(), {TODAY - timedelta(days=334): GOLD}, TODAY) is None   # ages out in 31
    kept = {TODAY - timedelta(days=335): 1, TODAY - timedelta(days=334): GOLD}     # what ages out is not needed
    assert downgrade_forecast(DEFAULT, gold(), kept, TODAY) is None
    forecast = downgrade_forecast(DEFAULT, gold(), {TODAY - timedelta(days=335): GOLD}, TODAY)       # ages out in 30
    assert forecast.on == TODAY + timedelta(days=30)


def test_the_horizon_is_the_programmes():
    programme = programme_with(downgrade_days=60)
    buckets = {TODAY - timedelta(days=320): GOLD}
    assert downgrade_forecast(DEFAULT, gold(), buckets, TODAY) is None
    assert downgrade_forecast(programme, gold(), buckets, TODAY).on == TODAY + timedelta(days=45)


def test_a_platinum_customer_falls_to_what_the_spend_still_earns():
    buckets = {TODAY - timedelta(days=360): 400_000, TODAY - timedelta(days=10): 150_000}
    forecast = downgrade_forecast(DEFAULT, gold(tier="platinum"), buckets, TODAY)
    assert forecast == DowngradeForecast(TODAY + timedelta(days=5), "platinum", "gold", PLATINUM - 150_000, 150_000)


def test_a_tier_not_held_for_the_hold_period_falls_only_once_it_is():
    buckets = {}                                                     # nothing counts: only the hold keeps gold
    beyond = start_of_day(DEFAULT, TODAY + timedelta(days=31) - timedelta(days=365))
    assert downgrade_forecast(DEFAULT, gold(tier_since=beyond), buckets, TODAY) is None
    exactly = start_of_day(DEFAULT, TODAY + timedelta(days=12) - timedelta(days=365))
    assert downgrade_forecast(DEFAULT, gold(tier_since=exactly), buckets, TODAY).on == TODAY + timedelta(days=12)
    later_that_day = exactly + timedelta(hours=10)                   # a review later on day 12 lowers it
    assert downgrade_forecast(DEFAULT, gold(tier_since=later_that_day), buckets, TODAY).on == \
        TODAY + timedelta(days=12)
    last_moment = exactly + timedelta(days=1) - timedelta(microseconds=1)
    assert downgrade_forecast(DEFAULT, gold(tier_since=last_moment), buckets, TODAY).on == TODAY + timedelta(days=12)
    next_day = exactly + timedelta(days=1)
    assert downgrade_forecast(DEFAULT, gold(tier_since=next_day), buckets, TODAY).on == TODAY + timedelta(days=13)
    assert downgrade_forecast(DEFAULT, gold(tier_since=None), buckets, TODAY).on == TODAY


def test_the_review_day_starts_in_the_programmes_time_zone():
    berlin = replace(DEFAULT, timezone="Europe/Berlin")
    assert start_of_day(berlin, date(2026, 6, 13)) == datetime(2026, 6, 12, 22, tzinfo=UTC)
    assert start_of_day(DEFAULT, date(2026, 6, 13)) == datetime(2026, 6, 13, tzinfo=UTC)
    since = datetime(2025, 6, 12, 22, 30, tzinfo=UTC)                 # 00:30 on 13 June 2025 in Berlin
    assert downgrade_forecast(DEFAULT, gold(tier_since=since), {}, TODAY).on == date(2026, 6, 12)
    assert downgrade_forecast(berlin, gold(tier_since=since), {}, TODAY).on == date(2026, 6, 13)


def test_lifetime_spend_never_ages_out():
    document = copy.deepcopy(DOCUMENT)
    document["tier_policy"]["metric"] = "lifetime_spend"
    programme = parse_programme(document)
    assert downgrade_forecast(programme, gold(lifetime_spend=0), {}, TODAY) is None


def test_the_lowest_tier_cannot_fall():
    assert downgrade_forecast(DEFAULT, gold(tier="standard"), {}, TODAY) is None
    assert downgrade_forecast(DEFAULT, gold(tier="retired-tier"), {}, TODAY) is None


ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/Santiago", "America/St_Johns", "Pacific/Kiritimati",
                         "Australia/Lord_Howe"])


@given(ZONES, st.dates(date(2000, 1, 1), date(2040, 12, 31)))
def test_the_start_of_a_day_is_on_that_day(zone, day):
    programme = replace(DEFAULT, timezone=zone)
    moment = start_of_day(programme, day)
    assert moment.tzinfo is UTC and local_date(programme, moment) == day
    assert local_date(programme, moment - timedelta(minutes=1)) < day


@st.composite
def forecast_cases(draw):
    programme = draw(any_programme)
    programme = replace(programme, timezone=draw(ZONES),
                        notices=Notices(downgrade_days=draw(st.integers(1, 60))))
    standing = draw(standings(programme))
    if draw(st.booleans()):
        standing = replace(standing, tier=programme.tiers[-1].name)
    held_until = local_date(programme, standing.tier_since) + timedelta(days=programme.tier_policy.hold_days)
    today = held_until + timedelta(days=draw(st.integers(-70, 20)))
    top = programme.tiers[-1].threshold
    buckets = draw(st.dictionaries(st.integers(0, 420).map(lambda k: today - timedelta(days=k)),
                                   st.integers(0, top // 2 + 1), max_size=12))
    return programme, standing, buckets, today


def window_spend(programme, buckets, day):
    """Net spend of the buckets on `day` and the window_days - 1 days before it."""
    first = day - timedelta(days=programme.tier_policy.window_days - 1)
    return sum(amount for bucket, amount in buckets.items() if first <= bucket <= day)


def review_lowers(programme, standing, buckets, day):
    """Would a review run at the last moment of `day` lower the tier?"""
    following = day + timedelta(days=1)
    moment = (datetime(following.year, following.month, following.day, tzinfo=ZoneInfo(programme.timezone))
              .astimezone(UTC) - timedelta(microseconds=1))
    change = review_tier(programme, replace(standing, qualifying_spend=window_spend(programme, buckets, day)), moment)
    return programme.rank(change.tier) < programme.rank(standing.tier), change.tier


@given(forecast_cases())
def test_the_forecast_day_is_the_first_a_review_would_lower_the_tier(case):
    programme, standing, buckets, today = case
    forecast = downgrade_forecast(programme, standing, buckets, today)
    horizon = [today + timedelta(days=k) for k in range(programme.notices.downgrade_days + 1)]
    lowered = [day for day in horizon if review_lowers(programme, standing, buckets, day)[0]]
    if not lowered:
        assert forecast is None
        return
    day = lowered[0]
    spend = window_spend(programme, buckets, day)
    tier = programme.tier(standing.tier)
    assert forecast == DowngradeForecast(day, tier.name, review_lowers(programme, standing, buckets, day)[1],
                                         max(tier.threshold - spend, 0), spend)
    assert programme.rank(forecast.to) < programme.rank(forecast.tier)
    assert 0 < forecast.spend_needed == tier.threshold - spend


# Birthdays -----------------------------------------------------------------------------------

@pytest.mark.parametrize("birthday, today, expected", [
    (date(1990, 6, 1), date(2026, 6, 1), True),
    (date(1990, 6, 1), date(2026, 6, 2), False),
    (date(1990, 6, 1), date(2026, 7, 1), False),
    (date(1992, 2, 29), date(2028, 2, 29), True),     # a leap year: on the day
    (date(1992, 2, 29), date(2028, 2, 28), False),
    (date(1992, 2, 29), date(2026, 2, 28), True),     # not a leap year: on 28 February
    (date(1992, 2, 29), date(2026, 3, 1), False),
    (date(1992, 2, 29), date(2100, 2, 28), True),     # 2100 is not a leap year
    (date(1992, 2, 28), date(2028, 2, 28), True),
    (date(1992, 2, 28), date(2028, 2, 29), False),
    (date(1991, 3, 1), date(2026, 3, 1), True),
    (None, date(2026, 6, 1), False),
])
def test_a_birthday_falls_on_its_day(birthday, today, expected):
    assert birthday_today(DEFAULT, birthday, today) is expected


@given(st.dates(date(1930, 1, 1), date(2010, 12, 31)), st.dates(date(2000, 1, 1), date(2100, 12, 31)))
def test_a_birthday_comes_once_a_year(birthday, today):
    start = date(today.year, 1, 1)
    days = [start + timedelta(days=k) for k in range((date(today.year + 1, 1, 1) - start).days)]
    assert sum(birthday_today(DEFAULT, birthday, day) for day in days) == 1
