"""`make bench`: every benchmark in one run, written to bench/results.md with the machine.

BENCH_ONLY=http, jobs, import, events, reports or backtest runs one part; BENCH_CUSTOMERS sizes the
jobs part, BENCH_IMPORT_SMALL and BENCH_IMPORT_ORDERS the imports.
"""
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import backtest_scale, events_out_bench, http_bench, import_bench, jobs_scale, reports_scale  # noqa: E402


def machine():
    postgres = subprocess.run([os.path.join(__import__("tests.postgres").postgres.find_bindir(), "postgres"),
                               "--version"], capture_output=True, text=True).stdout.strip()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return (f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {postgres}, {wrk.split(' Copyright')[0]}; "
            f"PostgreSQL runs with fsync off (a throwaway server).")


def main():
    only = os.environ.get("BENCH_ONLY")
    lines = ["# Benchmark results", "", "Written by `make bench` in one run; figures are from this machine and "
             "compare our service with a floor measured in the same run.", "", machine(), ""]
    if only in (None, "", "http"):
        lines += http_bench.main(Path(tempfile.mkdtemp(prefix="loyalty-bench-")))
    if only in (None, "", "jobs"):
        lines += jobs_scale.main()
    if only in (None, "", "import"):
        lines += import_bench.main()
    if only in (None, "", "events"):
        lines += events_out_bench.main()
    if only in (None, "", "reports"):
        lines += reports_scale.main()
    if only in (None, "", "backtest"):
        lines += backtest_scale.main()
    report = "\n".join(lines)
    print(report)
    (ROOT / "bench" / "results.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
