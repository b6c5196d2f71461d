"""The birthday gift (`[birthday_gift]` in the programme): points on the customer's
birthday, granted by the daily jobs. Which customers get one today:

- Their birthday is today: its day and month, in the programme's time zone (the caller
  passes today's local date). A 29 February birthday is celebrated on 28 February in
  years that are not leap years, as the `customer.birthday` notice is
  (`rules.notices.birthday_today`).
- Once a year: no gift within `GIFT_INTERVAL_DAYS` (365) of the last one, so a second
  run on the same day, or a birthday moved to another day after this year's gift, gives
  nothing. A birthday a year later is always at least 365 days after the last one (366
  across a 29 February), so every year gets its gift.
- Not a birthday just set: none for a birthday set or changed within the gift's
  `recent_change_days` (30 by default) before today, counted in local dates: set 30 days
  ago counts, 29 days ago does not. Without that, a customer could move their birthday to
  today for points, as often as they liked. A birthday whose setting date is unknown
  (customers from before this rule) counts as set long ago.

The gift is for today only: a day on which the job did not run is not made up later, and
an imported history gives no gifts for its past.
"""
from calendar import isleap
from datetime import timedelta
from typing import NamedTuple

from rules.notices import birthday_today

GIFT_INTERVAL_DAYS = 365


class GiftEntry(NamedTuple):
    """What the ledger entry of a gift says: its points, reason and rules ((rule id, points),)."""

    points: int
    reason: str
    rules: tuple


def birthdays_on(today):
    """The (month, day) pairs of the birthdays celebrated on `today`: today's own, and
    (2, 29) on 28 February of a year that is not a leap year (a query reads only these)."""
    pairs = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not isleap(today.year):
        pairs.append((2, 29))
    return pairs


def gift_due(gift, birthday, today, set_on=None, last_gift_on=None):
    """Does a customer with `birthday` get `gift` on `today` (a local date)? `set_on`: the
    local date the birthday was set or last changed (None: unknown, long ago);
    `last_gift_on`: the local date of the last gift (None: never)."""
    if gift is None or not birthday_today(None, birthday, today):
        return False
    if last_gift_on is not None and today - last_gift_on < timedelta(days=GIFT_INTERVAL_DAYS):
        return False
    return set_on is None or today - set_on >= timedelta(days=gift.recent_change_days)


def gift_entry(gift):
    """The entry a gift books: available at once, its reason naming the rule and the points."""
    return GiftEntry(gift.points, f"Birthday gift ({gift.id}): {gift.points} points", ((gift.id, gift.points),))
