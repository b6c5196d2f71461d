"""Programme versions in force over time: each purchase is evaluated under the version in
force at its purchase time, however late it arrives.

A `ProgrammeBook` holds the published versions, each in force from its `effective_from`
until the next one's. Pure data: the service builds one from its stored versions.
"""
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timezone

BEGINNING = datetime(1970, 1, 1, tzinfo=timezone.utc)     # the first version is in force from here


@dataclass(frozen=True)
class ProgrammeBook:
    """`starts` (ascending, aware datetimes) and `programmes`, the version in force from each."""

    starts: tuple
    programmes: tuple

    @classmethod
    def single(cls, programme):
        """One version, in force from the beginning."""
        return cls((BEGINNING,), (programme,))

    @classmethod
    def of(cls, versions):
        """From (effective_from, programme) pairs in any order; the earliest counts from the beginning."""
        ordered = sorted(versions, key=lambda pair: pair[0])
        if not ordered:
            raise ValueError("a programme book needs at least one version")
        starts = (BEGINNING, *(start for start, _ in ordered[1:]))
        return cls(starts, tuple(programme for _, programme in ordered))

    def at(self, moment):
        """The version in force at `moment` (the first one for any moment before it)."""
        return self.programmes[max(0, bisect_right(self.starts, moment) - 1)]

    def next_change(self, moment):
        """When the next version takes over after `moment`; None when none is scheduled."""
        index = bisect_right(self.starts, moment)
        return self.starts[index] if index < len(self.starts) else None

    def widest_window_days(self):
        """The longest qualifying window of any version: how far back spend must be read."""
        return max(programme.tier_policy.window_days for programme in self.programmes)
