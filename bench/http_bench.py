"""HTTP benchmarks, the way the service runs in production: our app and a bare floor app
under the same gunicorn settings on a PostgreSQL this run starts, loaded by wrk in a
separate process, `loyalty worker` as a process of its own. Returns Markdown sections:

- webhook ingest (ours stores the event, no worker running) and balance reads against the
  floor, in rounds, ours and the floor taking turns; the queue each of our ingest rounds
  left is drained (timed: the worker alone) before the next measure;
- end to end: a wrk burst with one `loyalty worker` running, from the first event received
  to the last applied, against the floor's ingest rate;
- lag (applied_at - received_at, and to the commit) at half the floor's rate, paced;
- the worker alone on BENCH_BULK_EVENTS (100,000) events queued straight into the inbox;
- flat cost: a customer with 1 ledger entry against one with 100,000, for a balance read
  and for the worker's apply cost per event;
- the rules engine in-process.

Knobs: BENCH_DURATION, BENCH_ROUNDS, BENCH_WRK_THREADS, BENCH_WRK_CONNECTIONS,
BENCH_GUNICORN_WORKERS, BENCH_E2E_SECONDS, BENCH_LAG_SECONDS, BENCH_BULK_EVENTS."""
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

from bench import queue_bench as queue
from loyalty import create_app
from loyalty.auth import key_hash, new_key
from loyalty.extensions import db
from loyalty.models import ApiKey
from loyalty.worker import BATCH_SIZE, run as run_worker
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
INGEST_LINES = 60_000          # webhooks per ingest round's file (wrk replays it; more than a round sends)
E2E_SECONDS = int(os.environ.get("BENCH_E2E_SECONDS", "20"))
E2E_LINES = 120_000
LAG_SECONDS = int(os.environ.get("BENCH_LAG_SECONDS", "15"))
LAG_THREADS = 50               # divides CUSTOMERS: each customer's events on one sending thread
BULK_EVENTS = int(os.environ.get("BENCH_BULK_EVENTS", "100000"))
BULK_CUSTOMERS = 5_000
FLAT_APPLY_EVENTS = 2_000      # per customer per round, applied in batches of the default size
FLAT_SINGLE_EVENTS = 200       # per customer per round, applied one event per batch

SEED_SERVICE = [
    """INSERT INTO customers (id, created_at, updated_at, points_available, points_pending, tier, lifetime_spend,
                             first_purchase_at, last_event_at)
       SELECT 'c-' || i, :now, :now, 0, 0, 'standard', 0, CAST(NULL AS timestamptz), :now - interval '1 day'
       FROM generate_series(0, :customers - 1) AS i
       UNION ALL SELECT 'w-' || i, :now, :now, 0, 0, 'standard', 0, CAST(NULL AS timestamptz), :now - interval '1 day'
       FROM generate_series(0, :bulk_customers - 1) AS i
       UNION ALL SELECT 'c-light', :now, :now, 300, 0, 'standard', 0, CAST(NULL AS timestamptz), :now - interval '1 day'
       UNION ALL SELECT 'c-light-' || r, :now, :now, 300, 0, 'standard', 0, CAST(NULL AS timestamptz),
                        :now - interval '1 day'
       FROM generate_series(0, :light_customers - 1) AS r
       UNION ALL SELECT 'c-heavy', :now, :now, 300, 0, 'standard', :orders * 1000, :now - interval '1100 days',
                        :now - interval '1 day'""",
    # c-light and one fresh light customer per flat-cost round (c-light-<round>): 1 entry each
    """INSERT INTO ledger_entries (customer_id, kind, points, status, at, available_on, reason, rules, created_at)
       SELECT id, 'adjustment', 300, 'available', :now, CAST(:now AS date), 'seed', '[]', :now
       FROM customers WHERE id LIKE 'c-light%'""",
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


def shop_body(event_id, customer, order, amount, created):
    return json.dumps({"id": event_id, "type": "purchase.completed", "created": created,
                       "data": {"customer": {"id": customer},
                                "order": {"id": order, "total": {"amount": amount, "currency": "EUR"}, "lines": []}}},
                      separators=(",", ":"))


def purchase_line(event_id, customer, order, amount, created):
    body = shop_body(event_id, customer, order, amount, created)
    header = stripe.WebhookSignature.generate_signature_header(body, SECRET)
    return f"POST\t/webhooks/shop\tContent-Type:application/json|Loyalty-Signature:{header}\t{body}\n"


def purchases(tag, customers, count, after=0, per_second=None):
    """`count` purchases spread over `customers`, each customer's in time order, `per_second`
    of them dated each second (one per customer by default) from an hour ago plus `after`
    seconds: later measures use a larger `after`, so every customer's events stay in order."""
    now, per_second = int(time.time()) - 3600 + after, per_second or len(customers)
    for k in range(count):
        yield (f"{tag}-{k}", customers[k % len(customers)], f"{tag}-o-{k}", 1_000 + (k % 97) * 100,
               now + k // per_second)


def write_webhooks(path, tag, customers, count, after=0, per_second=None):
    """The purchases as wrk replay lines; with as many customers as a multiple of the wrk
    threads, each customer's events go out on one thread, in order."""
    with open(path, "w") as out:
        for fields in purchases(tag, customers, count, after, per_second):
            out.write(purchase_line(*fields))


def signed_requests(tag, customers, count, after=0, per_second=None):
    """The same purchases as (path, headers, body) for the paced generator."""
    requests = []
    for fields in purchases(tag, customers, count, after, per_second):
        body = shop_body(*fields)
        requests.append(("/webhooks/shop", {"Content-Type": "application/json", "Loyalty-Signature":
                                            stripe.WebhookSignature.generate_signature_header(body, SECRET)},
                         body.encode()))
    return requests


def queued_purchases(tag, customers, count, after=0, per_second=None):
    """The same purchases as inbox rows (event id, type, body): no signature, the worker
    reads the stored body."""
    return [(fields[0], "purchase.completed", shop_body(*fields))
            for fields in purchases(tag, customers, count, after, per_second)]


def write_balances(path, customers, key):
    with open(path, "w") as out:
        for customer in customers:
            out.write(f"GET\t/v1/customers/{customer}/balance\tAuthorization:Bearer {key}\t\n")


def split(path, threads):
    """The replay file as one file per wrk thread (<path>.t<threads>.<thread>): line k to
    thread k % threads + 1. Answers the prefix replay.lua opens."""
    prefix = f"{path}.t{threads}"
    if not Path(f"{prefix}.{threads}").exists():
        parts = [open(f"{prefix}.{j + 1}", "w") for j in range(threads)]
        with open(path) as lines:
            for k, line in enumerate(lines):
                parts[k % threads].write(line)
        for part in parts:
            part.close()
    return prefix


def wrk(base, script_input, threads=THREADS, connections=CONNECTIONS, duration=DURATION):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", "-s", str(ROOT / "bench" / "replay.lua"),
               base, "--", split(script_input, threads)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["per_second"] = (result["requests"] - result["non_2xx"]) / result["seconds"]     # 2xx answers
    return result


def settle(*urls):
    """Vacuum, analyse and checkpoint the databases between a write and a read phase (and
    after each drain of the queue), so that maintenance one phase set off (autovacuum after
    the worker wrote orders, ledger entries and snapshots) is not billed to whoever runs next."""
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


def stored(url, table, column, tag):
    return queue.query(url, f"SELECT count(*) FROM {table} WHERE {column} LIKE %s", (f"{tag}-%",))[0][0]


def drain_timed(app, batch_size=BATCH_SIZE):
    """Apply everything queued in this process, with the worker's own loop: (events, seconds)."""
    started = time.perf_counter()
    applied = run_worker(app, batch_size, once=True)
    return applied, time.perf_counter() - started


def check(outcomes, url, measure, pattern):
    """Keep what became of a measure's events (status counts, and the reasons of any that
    were not processed)."""
    outcomes[measure] = queue.outcomes(url, pattern)


def main(tmp):
    server = PostgresServer().init().start()
    started, outcomes = [], {}
    try:
        queue.track_commit_times(server)
        service_url, floor_url = server.create_database("bench_service"), server.create_database("bench_floor")
        app = create_app({"SQLALCHEMY_DATABASE_URI": service_url})
        now = datetime.now(timezone.utc)
        with app.app_context():
            upgrade()
            for statement in SEED_SERVICE:
                db.session.execute(text(statement), {"now": now, "customers": CUSTOMERS, "orders": HEAVY_ORDERS,
                                                     "bulk_customers": BULK_CUSTOMERS,
                                                     "light_customers": 2 * FLAT_ROUNDS})
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
                         FLOOR_DSN=queue.dsn(floor_url), **env)
        started.append(floor)
        customers = [f"c-{i}" for i in range(CUSTOMERS)]

        # 1. Ingest: ours (the worker stopped) and the floor take turns in short rounds (who goes
        # first alternates): a disturbance on this shared machine then hits both, and the ratio
        # is per round. After each of our rounds the queue is drained in this process (timed:
        # the worker alone) and the database vacuumed, before anything else is measured.
        results, drains = {}, []
        write_balances(tmp / "balances.txt", customers, key)
        for round_ in range(ROUNDS):
            turns = (("floor", floor), ("ours", ours))[::1 if round_ % 2 == 0 else -1]
            for name, target in turns:
                tag, hooks = f"{name}-{round_}", tmp / f"{name}-hooks-{round_}.txt"
                write_webhooks(hooks, tag, customers, INGEST_LINES, after=round_ * 60)
                result = wrk(target.base, hooks)
                if name == "ours":
                    count, first, last = queue.span(service_url, f"{tag}-%")[:3]
                    result["stored"], result["received_seconds"] = count, (last - first).total_seconds()
                else:
                    result["stored"] = stored(floor_url, "floor_events", "id", tag)
                results.setdefault(("ingest", name), []).append(result)
                if name == "ours":
                    drains.append(drain_timed(app))
                    check(outcomes, service_url, f"ingest round {round_ + 1} (drained in-process)", f"{tag}-%")
                    settle(service_url)
            settle(service_url, floor_url)
            for name, target in turns:
                results.setdefault(("balance", name), []).append(wrk(target.base, tmp / "balances.txt"))
        floor_rate = statistics.median(run["per_second"] for run in results[("ingest", "floor")])

        # 2. End to end: a burst at full rate with one `loyalty worker` running, timed from the
        # first event received to the last applied.
        write_webhooks(tmp / "e2e.txt", "e2e", customers, E2E_LINES, after=ROUNDS * 60 + 20)
        worker = queue.Worker(service_url, tmp / "worker.log", **env)
        started.append(worker)
        worker.wait_listening()
        burst = wrk(ours.base, tmp / "e2e.txt", duration=f"{E2E_SECONDS}s")
        depth = queue.queued(service_url)
        seen = queue.wait_until_applied(service_url, worker)
        count, first, last_received, last_applied, last_commit = queue.span(service_url, "e2e-%")
        e2e = {"burst": burst, "depth": depth, "count": count, "done": seen is not None,
               "seconds": (last_applied - first).total_seconds() if last_applied else None,
               "commit_seconds": (last_commit - first).total_seconds() if last_commit else None,
               "received_seconds": (last_received - first).total_seconds()}
        check(outcomes, service_url, "end to end", "e2e-%")

        # 4. Lag at half the floor's rate, the same worker running.
        rate = floor_rate / 2
        requests = signed_requests("lag", customers, int(rate * LAG_SECONDS), after=ROUNDS * 60 + 160)
        sent = queue.paced(ours.port, requests, rate, LAG_THREADS)
        lag_done = queue.wait_until_applied(service_url, worker) is not None
        lags = queue.lag(service_url, "lag-%")
        check(outcomes, service_url, "lag", "lag-%")
        worker_code = worker.stop()
        worker_problems = worker.problems()
        settle(service_url)

        # 3. The worker alone on a queue of BULK_EVENTS purchases, `loyalty worker --once`.
        queue.enqueue(service_url, queued_purchases("bulk", [f"w-{i}" for i in range(BULK_CUSTOMERS)], BULK_EVENTS,
                                                    per_second=BULK_CUSTOMERS))
        settle(service_url)
        bulk_worker = queue.Worker(service_url, tmp / "worker-bulk.log", "--once", **env)
        started.append(bulk_worker)
        bulk = {"wall": bulk_worker.wait(timeout=3600), "code": bulk_worker.process.returncode}
        bulk["applied"], bulk["loop"] = bulk_worker.loop_seconds()
        bulk["left"] = queue.queued(service_url)
        worker_problems += bulk_worker.problems()
        check(outcomes, service_url, f"worker alone, {BULK_EVENTS:,} events", "bulk-%")
        settle(service_url)

        # 5. Flat cost. Balance reads over HTTP, one connection, light and heavy taking turns;
        # then the worker's cost per event for a customer with 1 entry against c-heavy, applied
        # in this process: FLAT_APPLY_EVENTS in-order purchases for one customer in batches of
        # the default size, and FLAT_SINGLE_EVENTS one event per batch. Each round's light
        # customers are fresh (1 entry); who goes first alternates.
        flat = {"errors": 0}
        for who in ("c-light", "c-heavy"):
            write_balances(tmp / f"{who}-balance.txt", [who], key)
        for _ in range(FLAT_ROUNDS):
            for who in ("c-light", "c-heavy"):
                result = wrk(ours.base, tmp / f"{who}-balance.txt", 1, 1, FLAT_ROUND)
                flat.setdefault(("balance", who), []).append(result["p50_ms"])
                flat["errors"] += result["non_2xx"] + result["socket_errors"]
        for round_ in range(FLAT_ROUNDS):
            order = ("light", "heavy")[::1 if round_ % 2 == 0 else -1]
            for kind, events, batch_size, after in (("apply", FLAT_APPLY_EVENTS, BATCH_SIZE, round_ * 200),
                                                    ("apply1", FLAT_SINGLE_EVENTS, 1, round_ * 200 + 110)):
                for who in order:
                    customer = "c-heavy" if who == "heavy" else f"c-light-{2 * round_ + (kind == 'apply1')}"
                    tag = f"flat-{kind}-{customer}-{round_}"
                    queue.enqueue(service_url, queued_purchases(tag, [customer], events, after=after, per_second=20))
                    applied, seconds = drain_timed(app, batch_size)
                    flat.setdefault((kind, who), []).append(seconds / max(applied, 1) * 1000)
                    flat.setdefault((kind, "applied"), []).append((applied, events))
                    settle(service_url)
        check(outcomes, service_url, "flat cost", "flat-%")
    finally:
        for process in started:
            process.stop()
        server.destroy()
    evaluations, baseline = rules_engine_rate()
    figures = {"results": results, "drains": drains, "floor_rate": floor_rate, "e2e": e2e,
               "lag": {"rate": rate, "sent": sent, "done": lag_done, "lags": lags}, "bulk": bulk,
               "worker": {"code": worker_code, "problems": worker_problems}, "outcomes": outcomes}
    return report(figures, flat, heavy_entries, evaluations, baseline)


def verdict(met):
    return "met" if met else "MISSED"


def report(figures, flat, heavy_entries, evaluations, baseline):
    results, floor_rate = figures["results"], figures["floor_rate"]
    lines = ["## HTTP: our service against the floor", "",
             f"gunicorn {WORKERS} sync workers each; wrk {THREADS} threads, {CONNECTIONS} connections, in its own "
             f"process; {CUSTOMERS:,} customers; every webhook a new signed purchase. Ours and the floor take turns "
             f"in {ROUNDS} rounds of {DURATION} each; rates (2xx answers per second) and latencies are the median of "
             "the rounds, the ratio is the median of the rounds' ratios (each round's in brackets). Webhook ingest: "
             "ours stores the event (queued, answers 202) with no worker running, the floor applies it (one INSERT, "
             "one UPDATE); after each of our rounds the queue is drained and both databases are vacuumed and "
             "checkpointed before the next measure.", "",
             "| measure | ours /s | floor /s | ratio | target | ours p50 / p99 ms | floor p50 / p99 ms |",
             "|---|---|---|---|---|---|---|"]
    for job, target in (("ingest", 1.0), ("balance", 0.7)):
        ours, floor = results[(job, "ours")], results[(job, "floor")]
        ratios = [mine["per_second"] / base["per_second"] for mine, base in zip(ours, floor)]
        ratio = statistics.median(ratios)
        fields = ("per_second", "p50_ms", "p99_ms")
        mine, base = ({field: statistics.median(run[field] for run in runs) for field in fields} for runs in (ours, floor))
        lines.append(f"| {'webhook ingest (stored)' if job == 'ingest' else 'balance reads'} | "
                     f"{mine['per_second']:.0f} | {base['per_second']:.0f} | "
                     f"{ratio:.2f} ({', '.join(f'{r:.2f}' for r in ratios)}) {verdict(ratio >= target)} | >= {target} | "
                     f"{mine['p50_ms']:.1f} / {mine['p99_ms']:.1f} | {base['p50_ms']:.1f} / {base['p99_ms']:.1f} |")
        errors = sum(run["non_2xx"] + run["socket_errors"] for run in ours)
        if errors:
            lines.append(f"| (ours: {errors} non-2xx or socket errors) | | | | | | |")
    ours_in, floor_in = results[("ingest", "ours")], results[("ingest", "floor")]
    answered = {name: sum(run["requests"] - run["non_2xx"] for run in runs) for name, runs in
                (("ours", ours_in), ("floor", floor_in))}
    database_rates = ", ".join(f"{run['stored'] / run['received_seconds']:,.0f}/s" for run in ours_in)
    lines += ["", f"Rows stored against 2xx answers in the ingest rounds: ours {sum(r['stored'] for r in ours_in):,} / "
              f"{answered['ours']:,}, floor {sum(r['stored'] for r in floor_in):,} / {answered['floor']:,} (a few more "
              "rows than answers: requests in flight when wrk stopped). Our rate from the database (rows over first "
              f"to last received_at) in each round: {database_rates}."]

    e2e, lag, bulk, drains = figures["e2e"], figures["lag"], figures["bulk"], figures["drains"]
    nan = float("nan")
    burst, lags, sent = e2e["burst"], lag["lags"], lag["sent"]
    e2e_rate = e2e["count"] / e2e["seconds"] if e2e["seconds"] else 0.0
    e2e_commit_rate = e2e["count"] / e2e["commit_seconds"] if e2e["commit_seconds"] else 0.0
    drain_rates = [applied / seconds for applied, seconds in drains if seconds]
    bulk_rate = bulk["applied"] / bulk["wall"] if bulk["applied"] else 0.0
    held = ("" if sent["per_second"] >= 0.95 * lag["rate"] else
            f"; the generator fell behind (sent at {sent['per_second'] / lag['rate']:.0%} of the rate asked): the "
            "service answered too slowly for the threads to keep the schedule")
    lines += ["", "## Webhooks through the worker", "",
              f"`loyalty worker` with its defaults (batch {BATCH_SIZE}); the yardstick is the floor's ingest rate from "
              f"the rounds above ({floor_rate:,.0f}/s). applied_at is stamped as the worker writes the outcomes, just "
              "before its batch commits; \"committed\" is the commit of that batch's transaction (track_commit_timestamp), when "
              "the effects became visible.", "",
              "| measure | what it measures | figure | ratio | target |", "|---|---|---|---|---|",
              f"| end to end | a {E2E_SECONDS} s wrk burst ({THREADS} threads, {CONNECTIONS} connections) against our "
              f"gunicorn with one `loyalty worker` process running; events recorded over the time from the first "
              f"received to the last applied (max applied_at) | {e2e['count']:,} recorded "
              f"({burst['per_second']:,.0f}/s 2xx during the burst), {e2e['depth']:,} still queued when it ended; "
              f"last applied_at {e2e['seconds'] or nan:.1f} s after the first received: "
              f"**{e2e_rate:,.0f} applied/s** (last commit at {e2e['commit_seconds'] or nan:.1f} s: "
              f"{e2e_commit_rate:,.0f}/s) | {e2e_rate / floor_rate:.2f} "
              f"({e2e_commit_rate / floor_rate:.2f} by commit) "
              f"{verdict(e2e['done'] and e2e_rate / floor_rate >= 0.5)} | >= 0.5 |",
              f"| worker alone, after each ingest round | the queue each of our ingest rounds left ({CUSTOMERS:,} "
              f"customers), applied in this process with the worker's loop, gunicorn idle | "
              f"{statistics.median(drain_rates):,.0f} events/s (rounds: "
              f"{', '.join(f'{applied:,} in {seconds:.1f} s' for applied, seconds in drains)}) | | |",
              f"| worker alone, {BULK_EVENTS:,} queued | {BULK_EVENTS:,} shop purchases over {BULK_CUSTOMERS:,} "
              f"customers inserted queued, then `loyalty worker --once` as a subprocess until it exits | "
              f"**{bulk_rate:,.0f} events/s** ({bulk['applied'] or 0:,} applied in {bulk['wall']:.1f} s wall, "
              f"{bulk['loop'] or nan:.1f} s of it in the worker's loop; exit code {bulk['code']}, "
              f"{bulk['left']:,} left queued) | | aim >= 2,000/s: {verdict(bulk_rate >= 2000)} |",
              f"| lag at half the floor's rate | a paced generator ({LAG_THREADS} Python threads, plain sockets, a new "
              f"connection each; it used {sent['cpu_share']:.0%} of a core) sends {sent['sent']:,} purchases at "
              f"{lag['rate']:,.0f}/s for {LAG_SECONDS} s "
              f"(achieved {sent['per_second']:,.0f}/s, answers {sent['statuses']}, answer p50 / p99 "
              f"{sent['p50_ms']:.0f} / {sent['p99_ms']:.0f} ms, p99 send slip {sent['late_p99_ms']:.0f} ms), the "
              f"worker running; from received_at to applied_at, and to the commit | applied_at: p50 "
              f"**{lags['p50'] or nan:,.0f} ms**, p99 **{lags['p99'] or nan:,.0f} ms** (max {lags['max'] or nan:,.0f}, "
              f"min {lags['min'] or nan:,.0f}); committed: p50 {lags['commit_p50'] or nan:,.0f} ms, p99 "
              f"{lags['commit_p99'] or nan:,.0f} ms (max {lags['commit_max'] or nan:,.0f}); {lags['unapplied']} not "
              f"applied{held} | | p99 < 1000 ms: {verdict(lag['done'] and (lags['p99'] or nan) < 1000)} "
              f"(by commit: {verdict(lag['done'] and (lags['commit_p99'] or nan) < 1000)}) |"]
    lines += ["", "What became of the events (status: count; anything not processed with its error_code and "
              "error_message):", ""]
    for measure, (statuses, failed) in figures["outcomes"].items():
        lines.append(f"- {measure}: {', '.join(f'{status} {count:,}' for status, count in sorted(statuses.items()))}"
                     f"{'; failed ' + str(statuses.get('failed', 0)) if 'failed' not in statuses else ''}")
        for code, message, count in failed:
            lines.append(f"  - {count:,} x {code}: {message}")
    worker = figures["worker"]
    if worker["code"] not in (0, -15) or worker["problems"]:
        lines += ["", f"The running worker exited with code {worker['code']}; worker log lines that report problems:", ""]
        lines += [f"    {line}" for line in worker["problems"][:20]]

    lines += ["", f"## Flat cost: 1 ledger entry against {heavy_entries:,}", "",
              f"Balance: one connection, light and heavy take turns, {FLAT_ROUNDS} rounds of {FLAT_ROUND} each; the "
              "median of the rounds' p50 latencies (each round's in brackets). Worker: milliseconds of the worker's "
              f"loop per event, in this process, for {FLAT_APPLY_EVENTS:,} in-order purchases of one customer queued "
              f"and drained in batches of {BATCH_SIZE}, and {FLAT_SINGLE_EVENTS:,} applied one per batch; light is a "
              "fresh customer with 1 entry each round, heavy is c-heavy; who goes first alternates; the median of "
              f"{FLAT_ROUNDS} rounds (each round's in brackets).", "",
              "| measure | 1 entry | heavy | ratio | target |", "|---|---|---|---|---|"]
    names = {"balance": "balance read, p50 ms", "apply": f"worker apply, batch {BATCH_SIZE}, ms/event",
             "apply1": "worker apply, batch 1, ms/event"}
    for kind in ("balance", "apply", "apply1"):
        light, heavy = flat[(kind, "c-light" if kind == "balance" else "light")], \
            flat[(kind, "c-heavy" if kind == "balance" else "heavy")]
        ratio = statistics.median(heavy) / statistics.median(light)
        rounds = {who: ", ".join(f"{value:.2f}" for value in values) for who, values in (("light", light), ("heavy", heavy))}
        lines.append(f"| {names[kind]} | {statistics.median(light):.2f} ({rounds['light']}) | "
                     f"{statistics.median(heavy):.2f} ({rounds['heavy']}) | {ratio:.2f} {verdict(ratio <= 1.2)} | <= 1.2 |")
    if flat["errors"]:
        lines.append(f"| (errors: {flat['errors']} non-2xx or socket errors) | | | | |")
    short = [(applied, events) for kind in ("apply", "apply1") for applied, events in flat[(kind, "applied")]
             if applied != events]
    if short:
        lines += ["", f"Flat-cost drains that applied a different number of events than were queued: {short}"]
    lines += ["", "## Rules engine in-process", "",
              f"`apply_purchase` (default programme, a gold customer): {evaluations:,.0f} purchases/s; "
              f"baseline `json.loads` of the same shop webhook body in the same run: {baseline:,.0f}/s "
              f"(ratio {evaluations / baseline:.2f}).", ""]
    return lines
