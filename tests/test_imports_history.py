"""An imported history ends exactly where the same history sent live ends; an import killed
half-way and run again ends there too."""
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.jobs import run_all
from loyalty.models import Customer, WebhookEvent
from loyalty.models.types import utcnow
from loyalty.programme import current_programme
from loyalty.services import balances
from tests import state
from tests.conftest import TEST_SECRETS, migrated_app
from tests.servers import ROOT, wait_until
from tests.test_imports import write_csv
from tests.webhooks import apply_queued, post_shop, purchase, refund

NOW = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)


def history(seed, customers=12, orders=90):
    """Purchases over two years (some big enough for gold or platinum) and partial or full
    refunds of some, each refund after its purchase: (csv rows, the same as shop events)."""
    rng = random.Random(seed)
    rows, events = [], []
    for n in range(orders):
        customer, bought = f"c-{rng.randrange(customers)}", NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        amount = rng.choice([999, 4_999, 25_000, 120_000, 310_000])
        rows.append(["purchase", f"o-{n}", customer, bought.isoformat(), str(amount), "EUR", ""])
        events.append(purchase(customer=customer, order=f"o-{n}", amount=amount, created=int(bought.timestamp()),
                               event_id=f"evt-p-{n}"))
        if rng.random() < 0.3:
            refunded = rng.choice([amount, amount // 2, 500])
            when = bought + timedelta(hours=rng.randrange(1, 24 * 40))
            when = min(when, NOW - timedelta(seconds=1))
            rows.append(["refund", f"o-{n}", "", when.isoformat(), str(refunded), "EUR", f"r-{n}"])
            events.append(refund(order=f"o-{n}", refund_id=f"r-{n}", amount=refunded, created=int(when.timestamp()),
                                 event_id=f"evt-r-{n}"))
    return rows, events


def standing(app):
    """Per customer: the stored standing, the ledger sums and the balance the API answers
    (the balance view's own service calls: a thousand requests would pass the rate limit)."""
    with app.app_context():
        ids = sorted(db.session.scalars(select(Customer.id)).all())
        programme, now = current_programme(), utcnow()
        balances_of = {customer: balances.balance(programme, balances.read_standing(programme, customer, now, lots=True),
                                                  now) for customer in ids}
    found = {}
    for customer in ids:
        balance = balances_of[customer]
        found[customer] = (state.customer(app, customer), state.ledger_sum(app, customer),
                           {k: balance[k] for k in ("points", "tier", "discount_percent", "qualifying_spend",
                                                    "lifetime_spend", "priority_support")})
    return found


def second_database(backend, tmp_path, request, name):
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path / f"{name}.sqlite")
    return request.getfixturevalue("postgres_server").create_database(name)


@pytest.mark.parametrize("seed, processes", [(1, 1), (2, 2)])
def test_an_imported_history_ends_where_the_same_webhooks_in_any_order_end(app, app_factory, backend, tmp_path,
                                                                           request, seed, processes):
    """With 2 processes (PostgreSQL; SQLite takes 1), each applies a share of the customers."""
    rows, events = history(seed)
    result = app.test_cli_runner().invoke(args=["import", "orders", write_csv(tmp_path / "h.csv", rows),
                                                "--now", NOW.isoformat(), "--processes", str(processes)])
    assert result.exit_code == 0, result.output
    live = migrated_app(app_factory, second_database(backend, tmp_path, request, f"live_{seed}"))
    client = live.test_client()
    random.Random(seed).shuffle(events)
    for start in range(0, len(events), 9):       # arriving in shuffled bursts, applied between them
        for event in events[start:start + 9]:
            assert post_shop(client, event).status_code == 202
        apply_queued(live)
    with live.app_context():
        run_all(NOW)
    imported, delivered = standing(app), standing(live)
    assert imported == delivered
    tiers = {found[0]["tier"] for found in imported.values()}
    assert len(imported) == 12 and len(tiers) >= 2       # the history reaches more than one tier
    with live.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


def _import_process(url, path, processes=1):
    environment = {**os.environ, **TEST_SECRETS, "LOYALTY_DATABASE_URL": url}
    return subprocess.Popen([sys.executable, "-c", "from loyalty.cli import main; main()", "import", "orders", path,
                             "--now", NOW.isoformat(), "--processes", str(processes)], cwd=ROOT, env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _children(pid):
    """Process ids whose parent is `pid` (from /proc)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_an_import_killed_half_way_and_run_again_ends_where_an_uninterrupted_one_does(postgres_server, app_factory,
                                                                                         tmp_path):
    rows, _ = history(seed=3, customers=1000, orders=10000)
    rows.sort(key=lambda row: row[3])               # an export is in time order
    path = write_csv(tmp_path / "big.csv", rows)
    interrupted_url = postgres_server.create_database("import_interrupted")
    interrupted = migrated_app(app_factory, interrupted_url)

    def count(*statuses):
        with interrupted.app_context():
            query = db.session.query(WebhookEvent)
            found = (query.filter(WebhookEvent.status.in_(statuses)) if statuses else query).count()
            db.session.rollback()
            return found

    # Interrupted and run again with 2 processes applying side by side, against 1 uninterrupted.
    process = _import_process(interrupted_url, path, processes=2)
    wait_until(lambda: count("processed", "duplicate") >= 4000, timeout=300, interval=0.05)
    helpers = _children(process.pid)
    assert len(helpers) >= 2                         # the two applying processes (and multiprocessing's tracker)
    process.kill()                                   # kill -9 of the importer, mid-import
    process.wait(timeout=30)
    wait_until(lambda: not any(map(_running, helpers)), timeout=30)    # they go with it
    assert count("processed", "duplicate") < len(rows)
    again = _import_process(interrupted_url, path, processes=2)
    assert again.wait(timeout=600) == 0
    clean_url = postgres_server.create_database("import_clean")
    clean = migrated_app(app_factory, clean_url)
    assert _import_process(clean_url, path).wait(timeout=600) == 0
    assert standing(interrupted) == standing(clean)
    assert count() == len(rows) and count("queued") == 0


def test_an_applying_process_that_loses_the_database_stops_the_import_and_a_rerun_carries_on(
        postgres_server, app_factory, tmp_path):
    """A process of `--processes 2` whose connection is cut mid-import: the import stops with
    exit 1 and a one-line error (no traceback), the other process goes too; run again, it
    ends where an uninterrupted import does."""
    rows, _ = history(seed=5, customers=1000, orders=15000)
    rows.sort(key=lambda row: row[3])
    path = write_csv(tmp_path / "cut.csv", rows)
    url = postgres_server.create_database("import_cut")
    cut = migrated_app(app_factory, url)

    def applied():
        with cut.app_context():
            found = db.session.query(WebhookEvent).count()
            db.session.rollback()
            return found
    environment = {**os.environ, **TEST_SECRETS, "LOYALTY_DATABASE_URL": url}
    process = subprocess.Popen([sys.executable, "-c", "from loyalty.cli import main; main()", "import", "orders", path,
                                "--now", NOW.isoformat(), "--processes", "2"], cwd=ROOT, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: applied() >= 500, timeout=300, interval=0.05)
    helpers = _children(process.pid)
    with cut.app_context():                      # the database drops every other connection
        db.session.execute(select(db.func.pg_terminate_backend(db.text("pid"))).select_from(
            db.text("pg_stat_activity")).where(db.text("datname = current_database() AND pid <> pg_backend_pid()")))
        db.session.commit()
        db.engine.dispose()
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 1, errors
    # The importer's own line (the processes may log their driver's warnings above it); the
    # driver's words depend on where the process was when cut: during a statement or between.
    said = [line for line in errors.splitlines() if line.startswith("Error: ")]
    assert len(said) == 1 and said[0].startswith("Error: an applying process stopped: ") and (
        "AdminShutdown" in said[0] or "connection" in said[0]), errors
    assert "Traceback" not in errors and "SQL" not in errors
    wait_until(lambda: not any(map(_running, helpers)), timeout=30)
    assert applied() < len(rows)
    assert _import_process(url, path, processes=2).wait(timeout=600) == 0
    clean_url = postgres_server.create_database("import_uncut")
    clean = migrated_app(app_factory, clean_url)
    assert _import_process(clean_url, path).wait(timeout=600) == 0
    assert standing(cut) == standing(clean)
