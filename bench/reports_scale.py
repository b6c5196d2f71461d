"""The customers and tiers reports at scale, on a PostgreSQL server this script starts.

BENCH_CUSTOMERS customers (default 1,000,000), made with set-based SQL: about two orders
each over the last two years (2 % never bought, one in 25 has an order refunded in full,
one in 25 a partial refund), a timeline row per purchase and refund with the standing
after it, one in ten moved to gold by its first purchase and one in thirty (a third of
those) lowered again by a tier review 370 days on. Then times `report("customers")` and
`report("tiers")` (and `report("cost")`, this month's purchases).

BENCH_OLD_REPORTS, a folder holding copies of older `customers.py` and `tiers.py` (report
modules, importable beside their own rules modules), times those too in the same run, on
the same snapshot, and checks that they answer the same numbers.

    BENCH_CUSTOMERS=100000 .venv/bin/python bench/reports_scale.py
"""
import importlib.util
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
from loyalty.programme import current_programme  # noqa: E402
from loyalty.reports.command import report, snapshot  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
OLD = os.environ.get("BENCH_OLD_REPORTS")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
NOW = datetime.now(timezone.utc).replace(microsecond=0)

# Customer i: first purchase `first_days` ago (up to two years), 1 + i % 3 orders spread
# evenly from then to now; gold (i % 10 = 0) by a first order of 1,500.00; lowered by a
# review 370 days after it (i % 30 = 0) when that is in the past.
_CUSTOMER = """(SELECT i, 'c' || lpad(i::text, 7, '0') AS id, (i::bigint * 7919) % 730 + 1 AS first_days,
                       CASE WHEN i % 50 = 1 THEN 0 ELSE 1 + i % 3 END AS orders,
                       (i * 37) % 1440 AS minute FROM generate_series(1, :n) AS i)"""
_STANDING = """json_build_object('tier', {tier}, 'tier_since', NULL, 'qualifying_spend', {spend},
                                 'lifetime_spend', {spend}, 'first_purchase_at', NULL, 'birthday', NULL,
                                 'points_pending', 0, 'points_available', {spend} / 100, 'tier_floor', NULL,
                                 'floor_since', NULL)"""
_ORDER_STATE = """json_build_object('order_id', o.order_key, 'placed_at', o.placed_at, 'total', o.total,
                                   'points', o.total / 100, 'fixed_points', 0, 'refunded', {refunded},
                                   'clawed_back', 0, 'fixed_removed', false, 'pending', 0, 'rules', '[]'::json)"""
_TIER = """CASE WHEN c.i % 10 = 0 AND NOT (c.i % 30 = 0 AND {at} >= o_first + interval '370 days')
                THEN 'gold' ELSE 'standard' END"""

GENERATE = [
    f"""INSERT INTO customers (id, created_at, updated_at, points_available, points_pending, tier, tier_since,
                              lifetime_spend, first_purchase_at, last_event_at)
        SELECT id, CASE WHEN i % 20 = 0 THEN :now ELSE :now - (first_days + 1) * interval '1 day' END, :now, 0, 0,
               CASE WHEN i % 10 = 0 AND NOT (i % 30 = 0 AND first_days > 370) THEN 'gold' ELSE 'standard' END,
               CASE WHEN i % 10 = 0 THEN :now - first_days * interval '1 day' END, 0, NULL, NULL
        FROM {_CUSTOMER} AS c""",
    f"""INSERT INTO orders (customer_id, source, order_key, placed_at, currency, total, refunded, points_earned,
                           points_clawed_back, fixed_points, fixed_removed, points_pending, available_on,
                           released_at, programme_version, lines, created_at)
        SELECT id, 'shop', 'o-' || i || '-' || k,
               :now - (first_days * (orders - k) / orders) * interval '1 day' - minute * interval '1 minute',
               'EUR', CASE WHEN k = 0 AND i % 10 = 0 THEN 150000 ELSE 2000 + (i * (k + 1) * 131) % 20000 END,
               CASE WHEN k = 0 AND i % 25 = 3 THEN 2000 + (i * 131) % 20000
                    WHEN k = orders - 1 AND i % 25 = 7 THEN 1000 ELSE 0 END,
               0, 0, 0, false, 0, NULL, NULL, 'bench', '[]', :now
        FROM {_CUSTOMER} AS c, generate_series(0, 2) AS k WHERE k < orders""",
    f"""INSERT INTO timeline_events (customer_id, order_id, kind, at, amount, cumulative, refund_key, standing_after,
                                    order_after, tier)
        SELECT o.customer_id, o.id, 'purchase', o.placed_at, o.total, false, NULL,
               {_STANDING.format(tier=_TIER.format(at="o.placed_at"), spend="o.total")},
               {_ORDER_STATE.format(refunded=0)}, {_TIER.format(at="o.placed_at")}
        FROM orders o JOIN {_CUSTOMER} AS c ON c.id = o.customer_id
             JOIN (SELECT customer_id, min(placed_at) AS o_first FROM orders GROUP BY customer_id) AS f
               ON f.customer_id = o.customer_id""",
    f"""INSERT INTO timeline_events (customer_id, order_id, kind, at, amount, cumulative, refund_key, standing_after,
                                    order_after, tier)
        SELECT o.customer_id, o.id, 'refund', o.placed_at + interval '3 days', o.refunded, false, 'r-' || o.id,
               {_STANDING.format(tier=_TIER.format(at="o.placed_at + interval '3 days'"),
                                 spend="o.total - o.refunded")},
               {_ORDER_STATE.format(refunded="o.refunded")}, {_TIER.format(at="o.placed_at + interval '3 days'")}
        FROM orders o JOIN {_CUSTOMER} AS c ON c.id = o.customer_id
             JOIN (SELECT customer_id, min(placed_at) AS o_first FROM orders GROUP BY customer_id) AS f
               ON f.customer_id = o.customer_id
        WHERE o.refunded > 0""",
    """UPDATE customers AS c SET first_purchase_at = f.first      -- as the write path keeps it
       FROM (SELECT customer_id, min(placed_at) AS first FROM orders GROUP BY customer_id) AS f
       WHERE f.customer_id = c.id""",
    """INSERT INTO tier_reviews (customer_id, at, from_tier, to_tier)
       SELECT customer_id, min(placed_at) + interval '370 days', 'gold', 'standard' FROM orders
       WHERE substr(customer_id, 2)::int % 30 = 0 GROUP BY customer_id
       HAVING min(placed_at) + interval '370 days' < :now""",
]


def generate(session):
    """The data; answers (orders, timeline rows, reviews, seconds)."""
    started = time.perf_counter()
    for statement in GENERATE:
        session.execute(text(statement), {"now": NOW, "n": CUSTOMERS})
    session.commit()
    counts = [session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
              for table in ("orders", "timeline_events", "tier_reviews")]
    return (*counts, time.perf_counter() - started)


def _old_modules(folder):
    """The older report functions from `folder` (its own modules importable beside them)."""
    sys.path.insert(0, folder)
    found = {}
    for name in ("customers", "tiers"):
        spec = importlib.util.spec_from_file_location(f"old_report_{name}", os.path.join(folder, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[name] = getattr(module, name)
    return found


def _timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def time_reports():
    """[(report, seconds now, seconds before or None, same numbers or None)], best of ROUNDS."""
    old = _old_modules(OLD) if OLD else {}
    found = []
    for name in ("customers", "tiers", "cost"):
        ours, before, same = [], [], None
        for _ in range(ROUNDS):
            result, seconds = _timed(lambda: report(name))
            ours.append(seconds)
            if name in old:
                session, programme = db.session, current_programme()
                with snapshot(session):
                    earlier, seconds = _timed(lambda: old[name](session, programme))
                before.append(seconds)
                same = earlier == result if same is None else same and earlier == result
        found.append((name, min(ours), min(before) if before else None, same))
    return found


def main():
    """Generate, time both reports, answer the Markdown section."""
    server = PostgresServer().init().start()
    try:
        url = server.create_database("bench_reports")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            orders, steps, reviews, generated = generate(db.session)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
            version = db.session.execute(text("SHOW server_version")).scalar()
            timings = time_reports()
            db.session.remove()
            db.engine.dispose()
    finally:
        server.destroy()
    lines = ["## Customer and tier reports at scale", "",
             f"{CUSTOMERS:,} customers, {orders:,} orders, {steps:,} timeline rows, {reviews:,} tier reviews "
             f"(generated in {generated:.0f} s); PostgreSQL {version}, Python {platform.python_version()}, "
             f"{os.cpu_count()} cores; best of {ROUNDS}.", ""]
    if OLD:
        lines += ["| report | seconds | before (same run) | before / now | same numbers | target |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {name} | {now:.1f} | {before:.1f} | {before / now:.1f} | {'yes' if same else 'NO'} | < 5 |"
                  if before is not None else f"| {name} | {now:.1f} | | | | < 5 |" for name, now, before, same in timings]
    else:
        lines += ["| report | seconds | target |", "|---|---|---|"]
        lines += [f"| {name} | {now:.1f} | < 5 |" for name, now, _, _ in timings]
    lines.append("")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
