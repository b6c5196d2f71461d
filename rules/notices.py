"""Notices: what the shop's email and CRM tools announce, and on which day.

- Points about to expire: points are announced ahead of their expiry date at each lead
  time of `[notices] expiring_days` (30 and 7 days by default). Points expiring on the
  same date make one notice. A notice is due at the smallest lead time the expiry date is
  within: 20 days away is the 30-day notice, 5 days away the 7-day one (a 30-day notice
  not sent in time is skipped, never sent alongside it). Further away than the longest
  lead time, or expiring today or before, nothing is due. The caller sends each (customer,
  expiry date, lead time) once.
- A tier about to fall: time alone lowers a tier only at a tier review, once the tier has
  been held for the hold period (see `rules.tiers`). The forecast looks `downgrade_days`
  (30 by default) ahead, from today on, for the first day on which a review (run at any
  time that day: the last moment of the day is the one tried) would lower the tier, as
  the spend already made ages out of the qualifying window; it says how much more spend
  would keep the tier. Lifetime spend never ages out, and the lowest tier cannot fall:
  then there is nothing to forecast.
- Birthday: a birthday falls on its day and month; 29 February is celebrated on
  28 February in years that are not leap years.
"""
from bisect import bisect_left, bisect_right
from calendar import isleap
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import NamedTuple
from zoneinfo import ZoneInfo

from rules.calendar import expires_on, window_start
from rules.tiers import review_tier


class ExpiryNotice(NamedTuple):
    """Points expiring `on` a date, announced `lead_days` ahead (a lead time of the programme)."""

    on: date
    points: int
    lead_days: int


@dataclass(frozen=True)
class DowngradeForecast:
    """A review `on` a day would lower `tier` to `to`, with `qualifying_spend` as of that day;
    `spend_needed` more by then keeps the tier."""

    on: date
    tier: str
    to: str
    spend_needed: int
    qualifying_spend: int


def expiry_notices(programme, held, today):
    """The expiry notices due `today`, from `held` ({date became available: points still
    held}): one per expiry date within the longest lead time, soonest first."""
    leads = programme.notices.expiring_days
    by_expiry = {}
    for became_available, points in held.items():
        if points > 0:
            on = expires_on(programme, became_available)
            by_expiry[on] = by_expiry.get(on, 0) + points
    notices = []
    for on, points in sorted(by_expiry.items()):
        due = [lead for lead in leads if 0 < (on - today).days <= lead]
        if due:
            notices.append(ExpiryNotice(on, points, min(due)))
    return notices


def start_of_day(programme, day):
    """The moment day `day` begins in the programme's time zone, in UTC."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(programme.timezone)).astimezone(UTC)


def downgrade_forecast(programme, standing, spend_by_day, today):
    """The first day from `today` to `downgrade_days` ahead on which a tier review would
    lower the tier, given the spend so far (`spend_by_day`: {date: net spend}); None if none.
    `standing.qualifying_spend` is not read: each day's is taken from `spend_by_day`."""
    current = programme.tier(standing.tier)
    if programme.tier_policy.metric == "lifetime_spend" or current == programme.lowest_tier:
        return None
    days = sorted(spend_by_day)
    totals = list(accumulate((spend_by_day[day] for day in days), initial=0))
    for offset in range(programme.notices.downgrade_days + 1):
        day = today + timedelta(days=offset)
        moment = start_of_day(programme, day + timedelta(days=1)) - timedelta(microseconds=1)
        spend = totals[bisect_right(days, day)] - totals[bisect_left(days, window_start(programme, moment))]
        review = review_tier(programme, replace(standing, qualifying_spend=spend), moment)
        if programme.rank(review.tier) < programme.rank(current.name):
            return DowngradeForecast(day, current.name, review.tier, max(current.threshold - spend, 0), spend)
    return None


def birthday_today(programme, birthday, today):
    """Is `today` (a date in the programme's time zone) the customer's birthday?"""
    if birthday is None:
        return False
    if (birthday.month, birthday.day) == (2, 29) and not isleap(today.year):
        return (today.month, today.day) == (2, 28)
    return (birthday.month, birthday.day) == (today.month, today.day)
