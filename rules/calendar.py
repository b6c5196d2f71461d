"""Dates as the programme sees them: in its time zone (UTC by default).

A purchase's points become available `pending_days` after its local date (the return
window), and available points expire `expiry_days` after the date they became available.
"""
from datetime import timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=4096)
def _date_in(zone, moment):
    return moment.astimezone(ZoneInfo(zone)).date()


def local_date(programme, moment):
    """The date of `moment` in the programme's zone (an evaluation asks for the same few
    moments many times: the answers are kept)."""
    return _date_in(programme.timezone, moment)


def available_on(programme, purchased_at):
    """The date a purchase's pending points become available."""
    return local_date(programme, purchased_at) + timedelta(days=programme.pending_days)


def expires_on(programme, became_available):
    """The date points that became available on `became_available` expire."""
    return became_available + timedelta(days=programme.expiry_days)


def in_window(programme, purchased_at, now):
    """Does a purchase at `purchased_at` still count in the qualifying window at `now`?

    The window is the trailing `window_days` by date in the programme's zone: a purchase
    on day D counts through day D + window_days - 1 and ages out on D + window_days.
    """
    window = timedelta(days=programme.tier_policy.window_days)
    return local_date(programme, now) < local_date(programme, purchased_at) + window


def window_start(programme, now):
    """The first date that still counts in the qualifying window at `now`."""
    return local_date(programme, now) - timedelta(days=programme.tier_policy.window_days - 1)
