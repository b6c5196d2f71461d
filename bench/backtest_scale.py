"""A backtest at scale, on a PostgreSQL server this script starts: BENCH_BACKTEST_CUSTOMERS
customers (default 200,000), each with one purchase 400 days ago (before the period: it
gives them a standing to start from) and five in the last 365 days (1,000,000 purchases by
default), one in 25 of those refunded in part three days later. Then times
`loyalty programme backtest` of a gold bonus of 50 % (against the live 25 %) over 365 days,
best of BENCH_ROUNDS (default 1). Target: under 60 s.

    BENCH_BACKTEST_CUSTOMERS=20000 .venv/bin/python bench/backtest_scale.py
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
from loyalty.programme import current_programme  # noqa: E402
from loyalty.programmes import backtest, documents  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

CUSTOMERS = int(os.environ.get("BENCH_BACKTEST_CUSTOMERS", "200000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
PROCESSES = int(os.environ.get("BENCH_BACKTEST_PROCESSES", str(os.cpu_count() or 1)))
NOW = datetime.now(timezone.utc).replace(microsecond=0)
GOLD_50 = (ROOT / "rules" / "default_programme.toml").read_text().replace(
    'version = "default-2026.1"', 'version = "gold-50"').replace(
    'id = "tier-gold"\npercent = 25', 'id = "tier-gold"\npercent = 50')

_STANDING = """json_build_object('tier', {tier}, 'tier_since', NULL, 'qualifying_spend', {spend},
                                 'lifetime_spend', {spend}, 'first_purchase_at', NULL, 'birthday', NULL,
                                 'points_pending', 0, 'points_available', 0, 'tier_floor', NULL, 'floor_since', NULL)"""
_ORDER_STATE = """json_build_object('order_id', o.order_key, 'placed_at', o.placed_at, 'total', o.total,
                                   'points', o.total / 100, 'fixed_points', 0, 'refunded', {refunded},
                                   'clawed_back', 0, 'fixed_removed', false, 'pending', 0, 'rules', '[]'::json)"""
# Order k of customer i: k = 0 is 400 days ago; k = 1..5 spread over the last 365 days.
GENERATE = [
    """INSERT INTO customers (id, created_at, updated_at, points_available, points_pending, tier, lifetime_spend,
                             last_event_at)
       SELECT 'c' || lpad(i::text, 7, '0'), :now - interval '401 days', :now, 0, 0,
              CASE WHEN i % 8 = 0 THEN 'gold' ELSE 'standard' END, 0, :now
       FROM generate_series(1, :n) AS i""",
    """INSERT INTO orders (customer_id, source, order_key, placed_at, currency, total, refunded, points_earned,
                          points_clawed_back, fixed_points, fixed_removed, points_pending, available_on, released_at,
                          programme_version, lines, created_at)
       SELECT 'c' || lpad(i::text, 7, '0'), 'shop', 'o-' || i || '-' || k,
              CASE WHEN k = 0 THEN :now - interval '400 days'
                   ELSE :now - ((6 - k) * 60 + i % 60) * interval '1 day' - (i % 1440) * interval '1 minute' END,
              'EUR', CASE WHEN k = 0 AND i % 8 = 0 THEN 120000 ELSE 2000 + (i * (k + 1) * 131) % 30000 END,
              CASE WHEN k > 0 AND (i + k) % 25 = 0 THEN 1000 ELSE 0 END, 0, 0, 0, false, 0, NULL, NULL, 'bench',
              CASE WHEN (i + k) % 10 = 0 THEN '[{"amount": 1000, "category": "gift_card", "quantity": 1}]'::json
                   ELSE '[]'::json END, :now
       FROM generate_series(1, :n) AS i, generate_series(0, 5) AS k""",
    f"""INSERT INTO timeline_events (customer_id, order_id, kind, at, amount, cumulative, refund_key, standing_after,
                                    order_after, tier)
        SELECT o.customer_id, o.id, 'purchase', o.placed_at, o.total, false, NULL,
               {_STANDING.format(tier="CASE WHEN o.total >= 100000 THEN 'gold' ELSE 'standard' END",
                                 spend="o.total")},
               {_ORDER_STATE.format(refunded=0)}, CASE WHEN o.total >= 100000 THEN 'gold' ELSE 'standard' END
        FROM orders o""",
    f"""INSERT INTO timeline_events (customer_id, order_id, kind, at, amount, cumulative, refund_key, standing_after,
                                    order_after, tier)
        SELECT o.customer_id, o.id, 'refund', o.placed_at + interval '3 days', o.refunded, false, 'r-' || o.id,
               {_STANDING.format(tier="'standard'", spend="o.total - o.refunded")},
               {_ORDER_STATE.format(refunded="o.refunded")}, 'standard'
        FROM orders o WHERE o.refunded > 0""",
    """INSERT INTO spend_buckets (customer_id, day, amount)
       SELECT customer_id, (placed_at AT TIME ZONE 'UTC')::date, sum(total - refunded) FROM orders
       GROUP BY 1, 2""",
]


def generate(session):
    started = time.perf_counter()
    for statement in GENERATE:
        session.execute(text(statement), {"now": NOW, "n": CUSTOMERS})
    session.commit()
    purchases = session.execute(text("SELECT count(*) FROM orders WHERE placed_at >= :since"),
                                {"since": NOW.replace(year=NOW.year - 1)}).scalar()
    return purchases, time.perf_counter() - started


def time_backtest(session):
    draft, live = documents.parse(GOLD_50, "toml").programme, current_programme(NOW)
    best, report = None, None
    for _ in range(ROUNDS):
        started = time.perf_counter()
        report, _ = backtest.backtest(session, draft, live, 365, NOW, PROCESSES)
        seconds = time.perf_counter() - started
        session.rollback()
        best = seconds if best is None else min(best, seconds)
    return best, report


def main():
    server = PostgresServer().init().start()
    try:
        url = server.create_database("bench_backtest")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            purchases, generated = generate(db.session)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
            seconds, report = time_backtest(db.session)
            db.session.remove()
            db.engine.dispose()
    finally:
        server.destroy()
    return ["## Backtest at scale", "",
            f"{CUSTOMERS:,} customers, {report['purchases']:,} purchases in the 365 days replayed ({purchases:,} "
            f"orders placed in them; generated in {generated:.0f} s); Python {platform.python_version()}, "
            f"{os.cpu_count()} cores, {PROCESSES} processes; best of {ROUNDS}.", "",
            "| backtest | seconds | target |", "|---|---|---|",
            f"| gold bonus 25 % -> 50 %, 365 days | {seconds:.1f} | < 60 |",
            "", f"points issued: live {report['live']['points_issued']:,}, draft {report['draft']['points_issued']:,}",
            ""]


if __name__ == "__main__":
    print("\n".join(main()))
