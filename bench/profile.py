"""Profile the hot paths in-process on a PostgreSQL this script starts: a signed shop
purchase webhook (recording it) and a balance read through the Flask test client (prints
the SQL statements one request sends and a pyinstrument profile of many), or the worker
applying queued purchases (`worker`: the statements per batch and a profile of the drain).

    .venv/bin/python bench/profile.py [webhook|balance|worker] [requests or events]
"""
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from pyinstrument import Profiler  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from bench import queue_bench  # noqa: E402
from bench.http_bench import CUSTOMERS, SECRET, SEED_SERVICE, purchase_line, queued_purchases  # noqa: E402
from loyalty import create_app  # noqa: E402
from loyalty.auth import key_hash, new_key  # noqa: E402
from loyalty.extensions import db  # noqa: E402
from loyalty.models import ApiKey  # noqa: E402
from loyalty.worker import run as run_worker  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402


def requests(kind, key, count):
    now = int(time.time()) - 3600
    for k in range(count):
        customer = f"c-{k % CUSTOMERS}"
        if kind == "balance":
            yield "GET", f"/v1/customers/{customer}/balance", {"Authorization": f"Bearer {key}"}, None
        else:
            _, _, headers, body = purchase_line(f"p-{k}", customer, f"p-o-{k}", 1_000 + k % 97 * 100,
                                                now + k // CUSTOMERS).rstrip("\n").split("\t")
            header = dict(item.split(":", 1) for item in headers.split("|"))
            yield "POST", "/webhooks/shop", header, body


def main(kind="webhook", count=2000):
    server = PostgresServer().init().start()
    try:
        url = server.create_database("profile")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOYALTY_WEBHOOK_SECRET": SECRET,
                          "LOYALTY_RATE_LIMIT": "100000000 per minute"})
        with app.app_context():
            upgrade()
            for statement in SEED_SERVICE:
                db.session.execute(text(statement), {"now": datetime.now(timezone.utc), "customers": CUSTOMERS,
                                                      "orders": 10, "bulk_customers": 0, "light_customers": 0})
            prefix, key = new_key()
            db.session.add(ApiKey(prefix=prefix, key_hash=key_hash(key), scope="shop", name="profile"))
            db.session.commit()
            db.session.remove()
        if kind == "worker":
            return profile_worker(app, url, count)
        client = app.test_client()
        work = list(requests(kind, key, count + 1))
        statements = []
        with app.app_context():
            listener = lambda *args: statements.append(" ".join(args[2].split())[:160])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            method, path, headers, body = work.pop()
            response = client.open(path, method=method, headers=headers, data=body)
            event.remove(db.engine, "before_cursor_execute", listener)
        print(f"{method} {path}: {response.status_code} {response.get_json()}")
        print(f"{len(statements)} statements:")
        for statement in statements:
            print("   ", statement)
        plain = work[:count // 2]
        timings = []
        with app.app_context():
            def before(conn, cursor, statement, parameters, context, executemany):
                conn.info["started"] = time.perf_counter()

            def after(conn, cursor, statement, parameters, context, executemany):
                timings.append(time.perf_counter() - conn.info.pop("started"))
            event.listen(db.engine, "before_cursor_execute", before)
            event.listen(db.engine, "after_cursor_execute", after)
        started, cpu = time.perf_counter(), time.process_time()
        for method, path, headers, body in plain:
            assert client.open(path, method=method, headers=headers, data=body).status_code in (200, 202)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"unprofiled: {len(plain)} requests, {elapsed / len(plain) * 1000:.2f} ms each "
              f"({cpu / len(plain) * 1000:.2f} ms CPU in this process); "
              f"{len(timings) / len(plain):.1f} statements each, {sum(timings) / len(plain) * 1000:.2f} ms in them")
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", before)
            event.remove(db.engine, "after_cursor_execute", after)
        work = work[count // 2:]
        profiler = Profiler(interval=0.0005)
        started = time.perf_counter()
        with profiler:
            for method, path, headers, body in work:
                assert client.open(path, method=method, headers=headers, data=body).status_code in (200, 202)
        elapsed = time.perf_counter() - started
        print(f"profiled: {len(work)} requests, {elapsed / len(work) * 1000:.2f} ms each")
        print(profiler.output_text(unicode=True, color=False, show_all=bool(os.environ.get("PROFILE_ALL"))))
    finally:
        server.destroy()


def profile_worker(app, url, count):
    """Queue `count` purchases over CUSTOMERS customers and apply them with the worker's loop:
    statements and their time, then a profile of a second queue as large."""
    timings = {}
    with app.app_context():
        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["started"] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):
            entry = timings.setdefault(" ".join(statement.split())[:100], [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - conn.info.pop("started")
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
    customers = [f"c-{i}" for i in range(CUSTOMERS)]
    queue_bench.enqueue(url, queued_purchases("p", customers, count))
    started, cpu = time.perf_counter(), time.process_time()
    applied = run_worker(app, once=True)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"unprofiled: {applied} events in {elapsed:.2f} s ({applied / elapsed:.0f}/s), {cpu:.2f} s CPU in this "
          f"process, {sum(t for _, t in timings.values()):.2f} s in statements:")
    for statement, (calls, seconds) in sorted(timings.items(), key=lambda item: -item[1][1]):
        print(f"    {calls:5d} x {seconds:7.3f} s  {statement}")
    with app.app_context():
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    queue_bench.enqueue(url, queued_purchases("q", customers, count, after=count // CUSTOMERS + 1))
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    with profiler:
        applied = run_worker(app, once=True)
    print(f"profiled: {applied} events in {time.perf_counter() - started:.2f} s")
    print(profiler.output_text(unicode=True, color=False, show_all=bool(os.environ.get("PROFILE_ALL"))))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "webhook", int(sys.argv[2]) if len(sys.argv) > 2 else 2000)
