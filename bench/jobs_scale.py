"""Jobs at scale: `loyalty jobs run` over 1,000,000 customers with about 9 ledger entries
each, on a PostgreSQL server this script starts (run by `make bench`).

Every customer has an old purchase (released, its lot now past 365 days and partly spent:
100 points to expire), a recent purchase whose return window is over (50 points to
release), goodwill and redemptions; one in ten is gold since 400 days with only recent
spend left in the window (to be lowered by the review). Prints a Markdown table and
writes it to bench/results.md.
"""
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402

from loyalty import create_app  # noqa: E402
from loyalty.extensions import db  # noqa: E402
from loyalty.jobs import run_all  # noqa: E402
from loyalty.reports.command import NAMES as REPORTS, report  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
BATCH = int(os.environ.get("BENCH_JOB_BATCH", "10000"))
WORKERS = int(os.environ.get("BENCH_JOB_WORKERS", "2"))
NOW = datetime.now(timezone.utc).replace(microsecond=0)

GENERATE = [
    """INSERT INTO customers (id, created_at, updated_at, points_available, points_pending, tier, tier_since,
                             lifetime_spend, first_purchase_at, last_event_at)
       SELECT 'c' || lpad(i::text, 7, '0'), :now, :now, 110, 50,
              CASE WHEN i % 10 = 0 THEN 'gold' ELSE 'standard' END,
              CASE WHEN i % 10 = 0 THEN :now - interval '400 days' END,
              15000, :now - interval '500 days', :now - interval '20 days'
       FROM generate_series(1, :n) AS i""",
    """INSERT INTO orders (customer_id, source, order_key, placed_at, currency, total, refunded, points_earned,
                          points_clawed_back, fixed_points, fixed_removed, points_pending, available_on,
                          released_at, programme_version, lines, created_at)
       SELECT 'c' || lpad(i::text, 7, '0'), 'shop', k || i,
              CASE k WHEN 'old-' THEN :now - interval '500 days' ELSE :now - interval '20 days' END,
              'EUR', CASE k WHEN 'old-' THEN 10000 ELSE 5000 END, 0, CASE k WHEN 'old-' THEN 100 ELSE 50 END,
              0, CASE k WHEN 'old-' THEN 100 ELSE 0 END, false, CASE k WHEN 'old-' THEN 0 ELSE 50 END,
              (CASE k WHEN 'old-' THEN :now - interval '486 days' ELSE :now - interval '6 days' END)::date,
              CASE k WHEN 'old-' THEN :now - interval '486 days' END, 'bench', '[]', :now
       FROM generate_series(1, :n) AS i, (VALUES ('old-'), ('new-')) AS kinds(k)""",
    """INSERT INTO ledger_entries (customer_id, order_id, kind, points, status, at, available_on, reason, rules,
                                  programme_version, created_at)
       SELECT o.customer_id, o.id, e.kind, e.points, e.status, o.placed_at,
              CASE WHEN e.status = 'available' THEN o.available_on END, 'bench', '[]', 'bench', :now
       FROM orders o JOIN (VALUES ('old-', 'earn', 100, 'pending'), ('old-', 'welcome', 100, 'pending'),
                                  ('old-', 'release', -200, 'pending'), ('old-', 'release', 200, 'available'),
                                  ('new-', 'earn', 50, 'pending')) AS e(k, kind, points, status)
         ON o.order_key LIKE e.k || '%'""",
    """INSERT INTO ledger_entries (customer_id, kind, points, status, at, available_on, reason, rules,
                                  programme_version, created_at)
       SELECT 'c' || lpad(i::text, 7, '0'), e.kind, e.points, 'available', :now - e.age,
              CASE WHEN e.points > 0 THEN (:now - e.age)::date END, 'bench', '[]', 'bench', :now
       FROM generate_series(1, :n) AS i,
            (VALUES ('redemption', -100, interval '200 days'), ('adjustment', 10, interval '30 days'),
                    ('adjustment', 5, interval '10 days'), ('redemption', -5, interval '5 days')) AS e(kind, points, age)""",
    """INSERT INTO spend_buckets (customer_id, day, amount)
       SELECT customer_id, placed_at::date, total FROM orders""",
]


def main():
    """Generate, run the three jobs, answer the Markdown section."""
    server = PostgresServer().init().start()
    try:
        url = server.create_database("bench_jobs")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            for statement in GENERATE:
                db.session.execute(text(statement), {"now": NOW, "n": CUSTOMERS})
            db.session.commit()
            entries = db.session.execute(text("SELECT count(*) FROM ledger_entries")).scalar()
            generated = time.perf_counter() - started
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
            version = db.session.execute(text("SHOW server_version")).scalar()
            rows = []
            for job in ("release", "expiry", "review"):
                started = time.perf_counter()
                counts = run_all(NOW, only={job}, size=BATCH, workers=WORKERS)[job]
                rows.append((job, time.perf_counter() - started, counts))
            again = time.perf_counter()
            repeat = run_all(NOW, size=BATCH, workers=WORKERS)
            rerun = time.perf_counter() - again
            reports = []                # the reports over the same data (issue "Is the programme paying?")
            for name in REPORTS:
                started = time.perf_counter()
                report(name)
                reports.append((name, time.perf_counter() - started))
            db.session.remove()
            db.engine.dispose()
    finally:
        server.destroy()
    lines = ["## Scheduled jobs at scale", "", f"Jobs at scale: {CUSTOMERS:,} customers, {entries:,} ledger entries "
             f"(generated in {generated:.0f} s); PostgreSQL {version}, Python {platform.python_version()}, "
             f"{os.cpu_count()} cores, batch {BATCH:,}, {WORKERS} workers.", "",
             "| job | seconds | target | what it did |", "|---|---|---|---|"]
    for job, seconds, counts in rows:
        lines.append(f"| {job} | {seconds:.1f} | < 60 | {counts} |")
    lines.append(f"| all three again (idempotent: nothing to do) | {rerun:.1f} | | {repeat} |")
    lines += ["", "Reports over the same data (`loyalty report NAME`, defaults: this month, 12 months for tiers):", "",
              "| report | seconds | target |", "|---|---|---|"]
    lines += [f"| {name} | {seconds:.1f} | < 5 |" for name, seconds in reports]
    lines.append("")
    return lines
