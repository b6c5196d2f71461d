"""When a failed delivery is tried again: after 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h four
times, then 24 h: eleven attempts over about three days (71.6 h), each wait spread by up
to a tenth either way so that receivers coming back are not hit by every retry at once.
After the last attempt the delivery is `failed`; an endpoint that has failed every
delivery for the whole schedule is disabled (delivery.py).

`LOYALTY_WEBHOOK_RETRY_SCHEDULE` (seconds, comma-separated) replaces the waits."""
import random
from datetime import timedelta

DEFAULT = (5, 300, 1800, 7200, 18000, 36000, 36000, 36000, 36000, 86400)
JITTER = 0.1


def parse(text):
    """The waits of `LOYALTY_WEBHOOK_RETRY_SCHEDULE`, or the default."""
    if not text or not text.strip():
        return DEFAULT
    try:
        waits = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError("LOYALTY_WEBHOOK_RETRY_SCHEDULE: seconds, comma-separated, e.g. 5,300,1800") from None
    if not waits or any(not 0 <= wait <= 7 * 86400 for wait in waits):
        raise ValueError("LOYALTY_WEBHOOK_RETRY_SCHEDULE: each wait between 0 and 604800 seconds")
    return waits


def next_attempt(waits, retry, now, rand=random.random):
    """When attempt `retry` + 1 of the round goes, after `retry` failed ones; None: no more."""
    if retry > len(waits):
        return None
    wait = waits[retry - 1]
    return now + timedelta(seconds=wait * (1 + JITTER * (2 * rand() - 1)))
