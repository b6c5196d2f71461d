"""Events out: what sending costs the batch applier, and how fast the worker delivers.

On a PostgreSQL this script starts:
1. the batch applier's rate with no endpoint, then with one endpoint subscribed to every
   type, in rounds on the same customers (each round a fresh queue of purchases; ABBA order
   after a warm-up round), reported as the ratio of the medians (target >= 0.85);
2. delivery: the events the subscribed rounds recorded, sent by the worker's sender to a
   receiver on loopback (a small asyncio HTTP server in its own process that answers 200),
   in events per second (target >= 500/s).

    .venv/bin/python bench/events_out_bench.py             # or: BENCH_ONLY=events make bench
"""
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench import queue_bench  # noqa: E402
from bench.http_bench import CUSTOMERS, SEED_SERVICE, queued_purchases  # noqa: E402
from loyalty import create_app  # noqa: E402
from loyalty.extensions import db  # noqa: E402
from loyalty.worker import run as run_worker, send_events  # noqa: E402
from tests.postgres import PostgresServer, free_port  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS_OUT", "15000"))      # purchases a round
ROUNDS = int(os.environ.get("BENCH_EVENTS_ROUNDS", "4"))       # rounds of each kind


def receive(port):
    """The receiver: keep-alive HTTP/1.1, reads each request's body, answers 200."""
    async def serve(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main():
        server = await asyncio.start_server(serve, "127.0.0.1", port)
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def analyse(url):
    """Fresh planner statistics before each round: the seed leaves the tables tiny, and a plan
    chosen on those (a sequential scan of orders) would decide the figures, not the change."""
    with psycopg.connect(queue_bench.dsn(url), autocommit=True) as connection:
        connection.execute("ANALYZE")


def subscribe(app, endpoint, types):
    with app.app_context():
        db.session.execute(text("UPDATE webhook_endpoints SET events = CAST(:events AS json) WHERE id = :id"),
                           {"id": endpoint, "events": None if types is None else json.dumps(types)})
        db.session.commit()
        db.session.remove()


def _count(app, statement):
    with app.app_context():
        value = db.session.execute(text(statement)).scalar()
        db.session.remove()
        return value


def main():
    server = PostgresServer().init().start()
    port = free_port()
    receiver = subprocess.Popen([sys.executable, __file__, "receiver", str(port)])
    try:
        url = server.create_database("events_out")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOYALTY_WEBHOOK_ALLOW_PRIVATE": False})
        with app.app_context():
            upgrade()
            for statement in SEED_SERVICE:
                db.session.execute(text(statement), {"now": datetime.now(timezone.utc), "customers": CUSTOMERS,
                                                      "orders": 10, "bulk_customers": 0, "light_customers": 0})
            db.session.commit()
            db.session.remove()
        customers = [f"c-{i}" for i in range(CUSTOMERS)]
        added = app.test_cli_runner().invoke(args=["endpoints", "add", f"http://127.0.0.1:{port}/hook"])
        endpoint = int(added.output.splitlines()[0].split()[1])
        rates, after = {"none": [], "one": []}, 0
        # A warm-up round (not counted), then the kinds in ABBA order: rates drift down as the
        # tables grow, and ABBA gives both kinds the same mean position in the run.
        order = ["warm-up"] + ["none", "one", "one", "none"] * (ROUNDS // 2) + ["none", "one"] * (ROUNDS % 2)
        for round_number, kind in enumerate(order):
            # "none": the endpoint takes only event.failed, which these rounds never make, so no
            # event is written; "one": it takes every type.
            subscribe(app, endpoint, None if kind != "none" else ["event.failed"])
            queue_bench.enqueue(url, queued_purchases(f"r{round_number}", customers, EVENTS, after=after))
            analyse(url)
            after += EVENTS // CUSTOMERS + 1
            started = time.perf_counter()
            applied = run_worker(app, once=True)
            rate = applied / (time.perf_counter() - started)
            rates.setdefault(kind, []).append(rate)
            print(f"round {round_number + 1} ({kind}): {applied} events, {rate:.0f}/s", flush=True)
        subscribe(app, endpoint, None)      # every type again: the sender gives the events their deliveries
        recorded = _count(app, "SELECT count(*) FROM outbound_events")
        started = time.perf_counter()
        attempts = send_events(app, threading.Event(), threading.Event(), once=True)
        elapsed = time.perf_counter() - started
        delivered = _count(app, "SELECT count(*) FROM deliveries WHERE status = 'delivered'")
        pending = _count(app, "SELECT count(*) FROM deliveries WHERE status = 'pending'")
        none, one = statistics.median(rates["none"]), statistics.median(rates["one"])
        lines = [
            "## Events out (`bench/events_out_bench.py`)", "",
            f"Batch applier, {EVENTS:,} queued purchases a round over {CUSTOMERS:,} customers: a warm-up round, then "
            f"{ROUNDS} rounds of each kind in ABBA order (tables analysed before each round), median rate:", "",
            "| endpoints | events/s | rounds |", "|---|---|---|",
            f"| none | {none:,.0f} | {', '.join(f'{r:,.0f}' for r in rates['none'])} |",
            f"| one, every type | {one:,.0f} | {', '.join(f'{r:,.0f}' for r in rates['one'])} |",
            f"| **ratio** | **{one / none:.2f}** (target >= 0.85) | |", "",
            f"Delivery: the {recorded:,} events recorded, given their deliveries (fan-out) and sent to a receiver "
            f"on loopback by the worker's sender: {attempts:,} attempts, {delivered:,} delivered ({pending:,} left "
            f"pending) in {elapsed:.1f} s, **{delivered / elapsed:,.0f} events/s** (target >= 500/s).", ""]
        print("\n".join(lines))
        return lines
    finally:
        receiver.kill()
        server.destroy()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "receiver":
        receive(int(sys.argv[2]))
    else:
        main()
