"""Points accounting and the points liability: what finance books.

Every ledger entry is one movement of points. A period's movements, by kind:
earned (earn, welcome and birthday entries: points the programme's rules give, as
opposed to support's discretionary goodwill), corrected (corrections of late events, either sign),
adjusted (goodwill, either sign), redeemed, expired and clawed back (taken out, shown as
positive numbers), and released (pending points becoming available: a pair of entries that
moves points inside the balance, shown for information). So
closing = opening + earned + corrected + adjusted - redeemed - expired - clawed_back,
and the last closing is every customer's available plus pending points.

The liability is the points outstanding valued at the redemption rate. Expected breakage
(the share that will never be redeemed) is estimated from what became of points that have
already left balances: expired / (expired + redeemed); with no such history, none is
expected. The expected cost is the value less that share.
"""
from dataclasses import dataclass

from rules.redemption import points_value

MOVEMENTS = ("earned", "corrected", "adjusted", "redeemed", "expired", "clawed_back", "released")
_OUT = {"redemption": "redeemed", "expiry": "expired", "clawback": "clawed_back"}
_IN = {"earn": "earned", "welcome": "earned", "birthday": "earned", "correction": "corrected",
       "adjustment": "adjusted"}


def movements(sums):
    """A period's movements from {(kind, status): sum of points} of its ledger entries."""
    found = dict.fromkeys(MOVEMENTS, 0)
    for (kind, status), points in sums.items():
        if kind in _IN:
            found[_IN[kind]] += points
        elif kind in _OUT:
            found[_OUT[kind]] -= points
        elif kind == "release" and status == "available":
            found["released"] += points
        elif kind != "release":
            raise ValueError(f"a ledger entry of unknown kind {kind!r}")
    return found


def closing(opening, moved):
    """The accounting identity."""
    return (opening + moved["earned"] + moved["corrected"] + moved["adjusted"]
            - moved["redeemed"] - moved["expired"] - moved["clawed_back"])


@dataclass(frozen=True)
class Liability:
    available: int
    pending: int
    value: int                      # minor units
    expected_breakage_ppm: int      # parts per million (0 to 1,000,000), so no float decides money
    expected_cost: int              # minor units


def liability(programme, available, pending, redeemed, expired):
    """The points owed, valued; `redeemed` and `expired`: all points ever redeemed and expired."""
    outstanding = max(available + pending, 0)
    value = points_value(programme, outstanding) if programme.redemption else 0
    settled = redeemed + expired
    breakage_ppm = expired * 1_000_000 // settled if settled > 0 else 0
    return Liability(available, pending, value, breakage_ppm, value - value * breakage_ppm // 1_000_000)
