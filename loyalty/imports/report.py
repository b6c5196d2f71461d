"""What an import tells its operator: the tally, the report of refused rows, progress.

The report is CSV (`line,reason`), one row per refused input row, written as the import
goes (a crash keeps what was written). Progress is a tqdm bar on a terminal (bytes of the
file read, rows per second, time left), plain lines every few seconds otherwise.
"""
import csv
import sys
import time
from dataclasses import asdict, dataclass, field

from tqdm import tqdm


@dataclass
class Tally:
    rows: int = 0
    taken: int = 0              # recorded and applied (or known from an earlier run)
    refused: int = 0            # in the report
    skipped: int = 0            # not a purchase in the source (an unpaid Shopify order, say)
    kinds: dict = field(default_factory=dict)      # purchase / refund / customer -> rows taken

    def took(self, kind):
        self.taken += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def as_dict(self):
        return asdict(self)


class Report:
    """Refused rows, to a CSV file if one is named (and counted either way)."""

    def __init__(self, path, tally):
        self.tally, self.file, self.writer = tally, None, None
        if path:
            self.file = open(path, "w", newline="", encoding="utf-8", errors="backslashreplace")
            self.writer = csv.writer(self.file)
            self.writer.writerow(["line", "reason"])

    def refuse(self, line, reason):
        self.tally.refused += 1
        if self.writer:
            self.writer.writerow([line, reason])

    def close(self):
        if self.file:
            self.file.close()


class Progress:
    """Rows read and how far through the file (`position()` against `size` bytes)."""

    def __init__(self, size, position, stream=None, every_seconds=5.0):
        self.size, self.position, self.rows = size, position, 0
        self.stream = stream or sys.stderr
        self.bar = tqdm(total=size, unit="B", unit_scale=True, file=self.stream, dynamic_ncols=True) \
            if self.stream.isatty() else None
        self.started = self.shown_at = time.monotonic()
        self.every, self.done_bytes = every_seconds, 0

    def row(self):
        self.rows += 1
        if self.rows % 500:
            return
        now, done = time.monotonic(), self.position()
        if self.bar is not None:
            self.bar.update(done - self.done_bytes)
            self.bar.set_postfix(rows=self.rows, refresh=False)
            self.done_bytes = done
        elif now - self.shown_at >= self.every:
            self.shown_at = now
            self._line(now, done)

    def _line(self, now, done):
        elapsed = max(now - self.started, 1e-9)
        rate = self.rows / elapsed
        left = (self.size - done) / (done / elapsed) if done else 0
        print(f"{self.rows} rows, {rate:.0f} rows/s, {100 * done / max(self.size, 1):.0f}% of the file, "
              f"about {left:.0f} s left", file=self.stream, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.update(self.size - self.done_bytes)
            self.bar.close()
        else:
            self._line(time.monotonic(), self.size)
