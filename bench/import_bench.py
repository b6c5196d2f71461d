"""Imports at scale: `loyalty import orders` of a generated history into a PostgreSQL server
this script starts (run by `make bench`; BENCH_ONLY=import runs it alone).

The history is what a shop's export looks like: in time order, over two years, 1 order in
10 refunded (half of them in part), one customer per 5 orders. It is imported twice, at
BENCH_IMPORT_SMALL (100,000) and BENCH_IMPORT_ORDERS (1,000,000) orders, each into a fresh
database, by the real command in its own process; the figures are wall time, rows per
second and the process's peak resident memory (getrusage of the child), and their ratio.
"""
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.postgres import PostgresServer  # noqa: E402

SMALL = int(os.environ.get("BENCH_IMPORT_SMALL", "100000"))
LARGE = int(os.environ.get("BENCH_IMPORT_ORDERS", "1000000"))
NOW = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
SPAN = timedelta(days=730)


def write_history(path, orders, seed=7):
    """`orders` purchases of orders // 5 customers in time order, 1 in 10 refunded: answers rows."""
    rng, customers, rows = random.Random(seed), max(orders // 5, 1), 0
    step = SPAN / orders
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["type", "order_id", "customer_id", "at", "amount", "currency", "refund_id"])
        refunds = []
        for n in range(orders):
            at = NOW - SPAN + step * n
            while refunds and refunds[0][0] <= at:
                writer.writerow(refunds.pop(0)[1])
                rows += 1
            amount = rng.choice((1_999, 4_999, 12_999, 34_900, 89_000))
            writer.writerow(["purchase", f"o-{n}", f"c-{rng.randrange(customers)}", at.isoformat(), amount, "EUR", ""])
            rows += 1
            if n % 10 == 3:
                refunded = amount if n % 20 == 3 else amount // 2
                refunds.append((at + timedelta(days=3), ["refund", f"o-{n}", "", (at + timedelta(days=3)).isoformat(),
                                                        refunded, "EUR", f"r-{n}"]))
        for _, row in refunds:
            if datetime.fromisoformat(row[3]) < NOW:
                writer.writerow(row)
                rows += 1
    return rows


# Runs the command as its own child and prints that child's peak resident memory (KiB), so
# each import is measured alone (ru_maxrss of children is the largest child so far).
MEASURED = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
print("peak-kib", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def run_import(url, path):
    """The real command in a child process: (seconds, its peak RSS in MiB, its last line)."""
    env = {**os.environ, "LOYALTY_DATABASE_URL": url}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURED, sys.executable, "-c", "from loyalty.cli import main; main()",
                           "import", "orders", path, "--now", NOW.isoformat()],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    peak = int(done.stderr.rsplit("peak-kib", 1)[1].split()[0]) / 1024
    return seconds, peak, done.stdout.strip().splitlines()[-1]


def migrate(url):
    env = {**os.environ, "LOYALTY_DATABASE_URL": url}
    subprocess.run([sys.executable, "-c", "from loyalty.cli import main; main()", "db", "upgrade"], cwd=ROOT,
                   env=env, check=True, capture_output=True)


def main():
    server = PostgresServer().init().start()
    folder = Path(tempfile.mkdtemp(prefix="loyalty-import-bench-"))
    lines = ["## Imports", "",
             f"`loyalty import orders` of a generated history (in time order over two years, 1 order in 10 refunded, "
             f"5 orders a customer) into PostgreSQL, the real command in its own process; jobs run at the end.", "",
             "| orders | rows | customers | seconds | rows/s | peak memory |", "|---|---|---|---|---|---|"]
    peaks = {}
    try:
        for orders in (SMALL, LARGE):       # the small one first: ru_maxrss of children only grows
            path = str(folder / f"orders-{orders}.csv")
            rows = write_history(path, orders)
            url = server.create_database(f"import_{orders}").replace("postgresql+psycopg://", "postgresql://")
            migrate(url)
            seconds, peak, summary = run_import(url, path)
            peaks[orders] = peak
            print(f"import of {orders} orders: {seconds:.0f} s, {rows / seconds:.0f} rows/s, peak {peak:.0f} MiB; "
                  f"{summary[:300]}", flush=True)
            lines.append(f"| {orders:,} | {rows:,} | {orders // 5:,} | {seconds:.0f} | {rows / seconds:,.0f} | "
                         f"{peak:.0f} MiB |")
            os.remove(path)
    finally:
        server.destroy()
    if len(peaks) == 2:
        lines += ["", f"Peak memory, {LARGE:,} orders against {SMALL:,}: {peaks[LARGE] / peaks[SMALL]:.2f}x "
                      "(target 1.2x); 1,000,000 orders target: under 600 s.", ""]
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
