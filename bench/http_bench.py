"""HTTP benchmarks, the way the service runs in production: our app and a bare floor app
under the same gunicorn settings on a PostgreSQL this run starts, loaded by wrk in a
separate process. Also the flat-cost comparison (a customer with 1 ledger entry against
one with 100,000) and the rules engine in-process. Returns Markdown sections."""
import json
import os
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import stripe
from flask_migrate import upgrade
from sqlalchemy import text

from loyalty import create_app
from loyalty.auth import key_hash, new_key
from loyalty.extensions import db
from loyalty.models import ApiKey
from rules import Purchase, Standing, apply_purchase, load_programme
from tests.postgres import PostgresServer
from tests.servers import Gunicorn

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-shop-secret"
CUSTOMERS = 1000
THREADS, CONNECTIONS = int(os.environ.get("BENCH_WRK_THREADS", "2")), int(os.environ.get("BENCH_WRK_CONNECTIONS", "8"))
DURATION = os.environ.get("BENCH_DURATION", "5s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))     # ours and the floor take turns, round by round
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
HEAVY_ORDERS = 25_000          # x 4 entries = 100,000 ledger entries
FLAT_ROUNDS, FLAT_ROUND = 4, "3s"

SEED_SERVICE = [
    """INSERT INTO customers (id, created_at, updated_at, points_available, points_pending, tier, lifetime_spend,
                             first_purchase_at, last_event_at)
       SELECT 'c-' || i, :now, :now, 0, 0, 'standard', 0, CAST(NULL AS timestamptz), :now - interval '1 day'
       FROM generate_series(0, :customers - 1) AS i
       UNION ALL SELECT 'c-light', :now, :now, 300, 0, 'standard', 0, CAST(NULL AS timestamptz), :now - interval '1 day'
       UNION ALL SELECT 'c-heavy', :now, :now, 300, 0, 'standard', :orders * 1000, :now - interval '1100 days',
                        :now - interval '1 day'""",
    """INSERT INTO ledger_entries (customer_id, kind, points, status, at, available_on, reason, rules, created_at)
       VALUES ('c-light', 'adjustment', 300, 'available', :now, CAST(:now AS date), 'seed', '[]', :now)""",
    """INSERT INTO orders (customer_id, source, order_key, placed_at, currency, total, refunded, points_earned,
                          points_clawed_back, fixed_points, fixed_removed, points_pending, available_on, released_at,
                          programme_version, lines, created_at)
       SELECT 'c-heavy', 'shop', 'heavy-' || i, :now - interval '1100 days' + i * interval '1 hour', 'EUR', 1000, 0,
              10, 0, 0, false, 0, CAST(:now - interval '1086 days' + i * interval '1 hour' AS date),
              :now - interval '1086 days' + i * interval '1 hour', 'bench', '[]', :now
       FROM generate_series(1, :orders) AS i""",
    """INSERT INTO ledger_entries (customer_id, order_id, kind, points, status, at, available_on, reason, rules,
                                  created_at)
       SELECT 'c-heavy', o.id, e.kind, e.points, e.status, o.placed_at,
              CASE WHEN e.status = 'available' AND e.points > 0 THEN o.available_on END, 'seed', '[]', :now
       FROM orders o CROSS JOIN (VALUES ('earn', 10, 'pending'), ('release', -10, 'pending'),
                                        ('release', 10, 'available'), ('redemption', -10, 'available')) AS e(kind, points, status)
       WHERE o.customer_id = 'c-heavy'""",
    # the newest 30 orders' points are still there: 300 available, in the newest lots
    """DELETE FROM ledger_entries WHERE customer_id = 'c-heavy' AND kind = 'redemption'
         AND order_id IN (SELECT id FROM orders WHERE customer_id = 'c-heavy' ORDER BY id DESC LIMIT 30)""",
    """INSERT INTO spend_buckets (customer_id, day, amount)
       SELECT customer_id, CAST(placed_at AS date), SUM(total) FROM orders GROUP BY customer_id, CAST(placed_at AS date)""",
]

SEED_FLOOR = [
    "CREATE TABLE floor_events (id text PRIMARY KEY, payload text NOT NULL)",
    "CREATE TABLE floor_balances (id text PRIMARY KEY, points bigint NOT NULL DEFAULT 0)",
    """INSERT INTO floor_balances (id) SELECT 'c-' || i FROM generate_series(0, :customers - 1) AS i
       UNION ALL SELECT 'c-light' UNION ALL SELECT 'c-heavy'""",
]


def purchase_line(event_id, customer, order, amount, created):
    body = json.dumps({"id": event_id, "type": "purchase.completed", "created": created,
                       "data": {"customer": {"id": customer},
                                "order": {"id": order, "total": {"amount": amount, "currency": "EUR"}, "lines": []}}},
                      separators=(",", ":"))
    header = stripe.WebhookSignature.generate_signature_header(body, SECRET)
    return f"POST\t/webhooks/shop\tContent-Type:application/json|Loyalty-Signature:{header}\t{body}\n"


def write_webhooks(path, tag, customers, count, after=0, per_second=None):
    """`count` purchases spread over `customers`, each customer's in time order and on one wrk
    thread, `per_second` of them dated each second (one per customer by default) from an
    hour ago plus `after` seconds: later rounds come later, so every event is in order."""
    now, per_second = int(time.time()) - 3600 + after, per_second or len(customers)
    with open(path, "w") as out:
        for k in range(count):
            customer = customers[k % len(customers)]
            out.write(purchase_line(f"{tag}-{k}", customer, f"{tag}-o-{k}", 1_000 + (k % 97) * 100,
                                    now + k // per_second))


def write_balances(path, customers, key):
    with open(path, "w") as out:
        for customer in customers:
            out.write(f"GET\t/v1/customers/{customer}/balance\tAuthorization:Bearer {key}\t\n")


def wrk(base, script_input, threads=THREADS, connections=CONNECTIONS, duration=DURATION):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", "-s", str(ROOT / "bench" / "replay.lua"),
               base, "--", str(script_input), str(threads)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["per_second"] = result["requests"] / result["seconds"]
    return result


def settle(*urls):
    """Vacuum, analyse and checkpoint both databases between the write and the read phase,
    so that maintenance one phase set off (autovacuum after our ingest writes five times
    the floor's rows) is not billed to whichever server reads next."""
    for url in urls:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
            connection.execute("CHECKPOINT")


def rules_engine_rate(seconds=3.0):
    """Purchases evaluated per second in-process, against json.loads of the same shop body
    as a baseline measured in the same run."""
    programme = load_programme()
    standing = Standing(tier="gold", qualifying_spend=150_000, lifetime_spend=400_000,
                        first_purchase_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    at = datetime(2026, 11, 1, tzinfo=timezone.utc)
    body = purchase_line("e", "c", "o", 12_999, 0).split("\t")[3]

    def rate(work):
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for _ in range(1000):
                work()
            done += 1000
        return done / (time.perf_counter() - started)

    evaluations = rate(lambda: apply_purchase(programme, standing, Purchase("o", at, 12_999)))
    baseline = rate(lambda: json.loads(body))
    return evaluations, baseline


def main(tmp):
    server = PostgresServer().init().start()
    started = []
    try:
        service_url, floor_url = server.create_database("bench_service"), server.create_database("bench_floor")
        app = create_app({"SQLALCHEMY_DATABASE_URI": service_url})
        now = datetime.now(timezone.utc)
        with app.app_context():
            upgrade()
            for statement in SEED_SERVICE:
                db.session.execute(text(statement), {"now": now, "customers": CUSTOMERS, "orders": HEAVY_ORDERS})
            prefix, key = new_key()
            db.session.add(ApiKey(prefix=prefix, key_hash=key_hash(key), scope="shop", name="bench"))
            db.session.commit()
            heavy_entries = db.session.execute(text("SELECT count(*) FROM ledger_entries WHERE customer_id = 'c-heavy'")).scalar()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
            db.engine.dispose()
        floor_app = create_app({"SQLALCHEMY_DATABASE_URI": floor_url})
        with floor_app.app_context():
            for statement in SEED_FLOOR:
                db.session.execute(text(statement), {"customers": CUSTOMERS})
            db.session.commit()
            db.engine.dispose()
        env = {"LOYALTY_WEBHOOK_SECRET": SECRET, "LOYALTY_RATE_LIMIT": "100000000 per minute"}
        ours = Gunicorn(service_url, workers=WORKERS, **env)
        started.append(ours)
        floor = Gunicorn(floor_url, workers=WORKERS, app_module="bench.floor_app:app",
                         FLOOR_DSN=floor_url.replace("postgresql+psycopg://", "postgresql://"), **env)
        started.append(floor)
        customers = [f"c-{i}" for i in range(CUSTOMERS)]
        # Ours and the floor take turns in short rounds (who goes first alternates): a
        # disturbance on this shared machine then hits both, and the ratio is per round.
        results = {}
        write_balances(tmp / "balances.txt", customers, key)
        for round_ in range(ROUNDS):
            turns = (("floor", floor), ("ours", ours))[::1 if round_ % 2 == 0 else -1]
            for name, target in turns:
                hooks = tmp / f"{name}-hooks-{round_}.txt"
                write_webhooks(hooks, f"{name}-{round_}", customers, 30_000, after=round_ * 60)
                results.setdefault(("ingest", name), []).append(wrk(target.base, hooks))
            settle(service_url, floor_url)
            for name, target in turns:
                results.setdefault(("balance", name), []).append(wrk(target.base, tmp / "balances.txt"))
        flat = {}
        for who in ("c-light", "c-heavy"):
            write_balances(tmp / f"{who}-balance.txt", [who], key)
        # Light and heavy take turns, several short rounds each: a disturbance on this shared
        # machine (autovacuum after the ingest run, a neighbour) then hits both, not one. Each
        # round's webhooks are new purchases, dated after the round before's.
        for round_ in range(FLAT_ROUNDS):
            for who in ("c-light", "c-heavy"):
                write_webhooks(tmp / f"{who}-hooks-{round_}.txt", f"flat-{who}-{round_}", [who], 4_000,
                               after=round_ * 200, per_second=20)
            for kind, file in (("balance", "balance.txt"), ("webhook", f"hooks-{round_}.txt")):
                for who in ("c-light", "c-heavy"):
                    result = wrk(ours.base, tmp / f"{who}-{file}", 1, 1, FLAT_ROUND)
                    flat.setdefault((kind, who), []).append(result["p50_ms"])
                    flat["errors"] = flat.get("errors", 0) + result["non_2xx"] + result["socket_errors"]
    finally:
        for process in started:
            process.stop()
        server.destroy()
    evaluations, baseline = rules_engine_rate()
    return report(results, flat, heavy_entries, evaluations, baseline)


def report(results, flat, heavy_entries, evaluations, baseline):
    lines = ["## HTTP: our service against the floor", "",
             f"gunicorn {WORKERS} sync workers each; wrk {THREADS} threads, {CONNECTIONS} connections, in its own "
             f"process; {CUSTOMERS:,} customers; every webhook a new signed purchase. Ours and the floor take turns "
             f"in {ROUNDS} rounds of {DURATION} each; rates and latencies are the median of the rounds, the ratio "
             "is the median of the rounds' ratios (each round's in brackets). Both databases are vacuumed and "
             "checkpointed between each round's ingest and its reads.", "",
             "| measure | ours /s | floor /s | ratio | target | ours p50 / p99 ms | floor p50 / p99 ms |",
             "|---|---|---|---|---|---|---|"]
    for job, target in (("ingest", 0.5), ("balance", 0.7)):
        ours, floor = results[(job, "ours")], results[(job, "floor")]
        ratios = [mine["per_second"] / base["per_second"] for mine, base in zip(ours, floor)]
        ratio = statistics.median(ratios)
        fields = ("per_second", "p50_ms", "p99_ms")
        mine, base = ({field: statistics.median(run[field] for run in runs) for field in fields} for runs in (ours, floor))
        lines.append(f"| {'webhook ingest' if job == 'ingest' else 'balance reads'} | {mine['per_second']:.0f} | "
                     f"{base['per_second']:.0f} | {ratio:.2f} ({', '.join(f'{r:.2f}' for r in ratios)}) "
                     f"{'met' if ratio >= target else 'MISSED'} | >= {target} | "
                     f"{mine['p50_ms']:.1f} / {mine['p99_ms']:.1f} | {base['p50_ms']:.1f} / {base['p99_ms']:.1f} |")
        errors = sum(run["non_2xx"] + run["socket_errors"] for run in ours)
        if errors:
            lines.append(f"| (errors: {errors} non-2xx or socket errors) | | | | | | |")
    lines += ["", f"## Flat cost: 1 ledger entry against {heavy_entries:,}", "",
              f"One connection; light and heavy take turns, {FLAT_ROUNDS} rounds of {FLAT_ROUND} each; the "
              "median of the rounds' p50 latencies (each round's p50 in brackets).", "",
              "| request | 1 entry p50 ms | heavy p50 ms | ratio | target |", "|---|---|---|---|---|"]
    for kind in ("balance", "webhook"):
        light, heavy = flat[(kind, "c-light")], flat[(kind, "c-heavy")]
        ratio = statistics.median(heavy) / statistics.median(light)
        rounds = {who: ", ".join(f"{p50:.2f}" for p50 in values) for who, values in (("light", light), ("heavy", heavy))}
        lines.append(f"| {kind} | {statistics.median(light):.2f} ({rounds['light']}) | {statistics.median(heavy):.2f} "
                     f"({rounds['heavy']}) | {ratio:.2f} {'met' if ratio <= 1.2 else 'MISSED'} | <= 1.2 |")
    if flat["errors"]:
        lines.append(f"| (errors: {flat['errors']} non-2xx or socket errors) | | | | |")
    lines += ["", "## Rules engine in-process", "",
              f"`apply_purchase` (default programme, a gold customer): {evaluations:,.0f} purchases/s; "
              f"baseline `json.loads` of the same shop webhook body in the same run: {baseline:,.0f}/s "
              f"(ratio {evaluations / baseline:.2f}).", ""]
    return lines

