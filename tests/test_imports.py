"""`loyalty import customers|orders`: files in, the one write path, reports and exit codes."""
import csv
import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from loyalty.models import WebhookEvent
from tests import state

NOW = datetime.now(timezone.utc).replace(microsecond=0)
HEADER = ["type", "order_id", "customer_id", "at", "amount", "currency", "refund_id"]


def at(days_ago, hours=0):
    return (NOW - timedelta(days=days_ago, hours=hours)).isoformat()


def write_csv(path, rows, header=HEADER):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def write_jsonl(path, rows, opener=open):
    with opener(path, "wt") as file:
        for row in rows:
            file.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return str(path)


def run(runner, *args):
    result = runner.invoke(args=["import", *map(str, args)])
    summaries = [line for line in result.output.splitlines() if line.startswith("{")]
    return result, json.loads(summaries[-1]) if summaries else None


def report_rows(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


HISTORY = [
    ["purchase", "o-1", "c-1", at(400), "12999", "EUR", ""],
    ["purchase", "o-2", "c-1", at(20), "250000", "EUR", ""],
    ["refund", "o-2", "", at(19), "50000", "EUR", "r-1"],
    ["purchase", "o-3", "c-2", at(2), "9900", "EUR", ""],
]


def test_an_orders_csv_is_imported_through_the_write_path_and_a_rerun_counts_nothing_twice(app, runner, tmp_path):
    path = write_csv(tmp_path / "orders.csv", HISTORY)
    result, summary = run(runner, "orders", path)
    assert result.exit_code == 0, result.output
    assert summary["taken"] == 4 and summary["refused"] == 0 and summary["kinds"] == {"purchase": 3, "refund": 1}
    first = {c: state.customer(app, c) for c in ("c-1", "c-2")}
    assert first["c-1"]["lifetime_spend"] == 12999 + 250000 - 50000
    assert first["c-1"]["tier"] == "gold" and first["c-2"]["pending"] > 0
    assert {e[0] for e in state.events(app)} == {"import"} and {e[2] for e in state.events(app)} == {"processed"}
    for customer in ("c-1", "c-2"):
        assert state.ledger_sum(app, customer) == {"pending": first[customer]["pending"],
                                                   "available": first[customer]["available"]}
    result, summary = run(runner, "orders", path)
    assert result.exit_code == 0 and summary["taken"] == 4
    assert {c: state.customer(app, c) for c in ("c-1", "c-2")} == first
    assert state.count(app, WebhookEvent) == 4


def test_points_whose_dates_have_passed_end_released_or_expired(app, runner, tmp_path):
    """o-1 is 400 days old: its points were released after the return window and have
    expired; o-3 is 2 days old: still pending. The jobs ran as of now at the end."""
    run(runner, "orders", write_csv(tmp_path / "orders.csv", HISTORY))
    kinds = {kind for kind, _, _ in state.entries(app, "c-1")}
    assert {"earn", "release", "expiry"} <= kinds
    assert state.customer(app, "c-2")["pending"] > 0 and state.customer(app, "c-2")["available"] == 0


def test_bad_rows_are_reported_with_their_line_and_never_stop_the_rest(app, runner, tmp_path):
    rows = [
        ["purchase", "o-1", "c-1", at(3), "12999", "EUR", ""],
        ["purchase", "o-2", "c-1", at(3), "12.99", "EUR", ""],          # line 3: not minor units
        ["purchase", "o-3", "c-1", "yesterday", "100", "EUR", ""],        # line 4: not a time
        ["purchase", "o-4", "", at(3), "100", "EUR", ""],                 # line 5: no customer
        ["refund", "o-1", "", at(2), "100", "EUR", ""],                   # line 6: no refund id
        ["purchase", "o-5", "c-1", at(-30), "100", "EUR", ""],            # line 7: future
        ["purchase", "o-6", "c-1", at(3), "100", "USD", ""],              # line 8: currency
        ["purchase", "o-1", "c-2", at(3), "100", "EUR", ""],              # line 9: o-1 is c-1's
        ["purchase", "o-7", "c-\x00", at(3), "100", "EUR", ""],           # line 10: NUL
        ["sale", "o-8", "c-1", at(3), "100", "EUR", ""],                  # line 11: type
        ["purchase", "o-9", "c-3", at(3), "100", "EUR", ""],
    ]
    report = tmp_path / "refused.csv"
    result, summary = run(runner, "orders", write_csv(tmp_path / "orders.csv", rows), "--report", report)
    assert result.exit_code == 3, result.output
    assert summary["taken"] == 2 and summary["refused"] == 9
    refused = {int(row["line"]): row["reason"] for row in report_rows(report)}
    assert sorted(refused) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert refused[3].startswith("amount:") and refused[5].startswith("customer_id:")
    assert refused[6].startswith("refund_id:") and "future" in refused[7] and "USD" in refused[8]
    assert refused[9].startswith("order_conflict:") and refused[11].startswith("type:")
    assert state.customer(app, "c-3")["pending"] > 0


def test_json_lines_with_order_lines_and_gzip_are_read_by_name(app, runner, tmp_path):
    rows = [{"type": "purchase", "order_id": "o-1", "customer_id": "c-1", "at": at(5), "amount": 12999,
             "currency": "EUR", "lines": [{"sku": "B-1", "category": "books", "quantity": 1,
                                           "amount": {"amount": 12999, "currency": "EUR"}}]},
            "not json", "[1, 2]",
            {"type": "refund", "order_id": "o-1", "refund_id": "r-1", "at": at(4), "amount": 12999, "currency": "EUR"}]
    path = write_jsonl(tmp_path / "orders.jsonl.gz", rows, opener=gzip.open)
    report = tmp_path / "refused.csv"
    result, summary = run(runner, "orders", path, "--report", report)
    assert result.exit_code == 3 and summary["kinds"] == {"purchase": 1, "refund": 1}
    assert [row["line"] for row in report_rows(report)] == ["2", "3"]
    assert state.customer(app, "c-1")["pending"] == 0 and state.customer(app, "c-1")["lifetime_spend"] == 0


def test_customers_are_imported_and_an_empty_cell_never_erases(app, runner, tmp_path, client):
    path = write_csv(tmp_path / "customers.csv", [
        ["c-1", "a@example.com", "1990-05-17", "cus_1"],
        ["c-2", "", "", "cus_1"],                           # line 3: c-1 has this Stripe customer
        ["c-3", "not an email", "", ""],                    # line 4
        ["c-4", "d@example.com", "1800-01-01", ""],         # line 5: birthday out of range
        ["c-1", "", "", ""],                                # keeps c-1's email
    ], header=["id", "email", "birthday", "stripe_customer_id"])
    report = tmp_path / "refused.csv"
    result, summary = run(runner, "customers", path, "--report", report)
    assert result.exit_code == 3 and summary["taken"] == 2 and summary["refused"] == 3
    assert sorted((row["line"], row["reason"].split(":")[0]) for row in report_rows(report)) == [
        ("3", "stripe_customer_taken"), ("4", "email"), ("5", "birthday")]
    from loyalty.extensions import db
    from loyalty.models import Customer
    with app.app_context():
        c1 = db.session.get(Customer, "c-1")
        assert (c1.email, str(c1.birthday), c1.stripe_customer_id) == ("a@example.com", "1990-05-17", "cus_1")
        assert db.session.get(Customer, "c-2") is None


def test_a_dry_run_evaluates_the_file_and_writes_nothing(app, runner, tmp_path):
    path = write_csv(tmp_path / "orders.csv", HISTORY + [["purchase", "o-9", "c-9", at(1), "1.5", "EUR", ""]])
    result, summary = run(runner, "orders", path, "--dry-run")
    assert result.exit_code == 3
    assert summary["dry_run"] is True and summary["taken"] == 4 and summary["refused"] == 1
    assert summary["customers"] == 2 and summary["tiers"] == {"gold": 1, "standard": 1}
    assert summary["points"]["pending"] > 0 and summary["outstanding_value"]["currency"] == "EUR"
    assert state.count(app, WebhookEvent) == 0 and state.customer(app, "c-1") is None
    result, real = run(runner, "orders", path)
    assert {k: real[k] for k in ("tiers", "points", "outstanding_value")} == \
        {k: summary[k] for k in ("tiers", "points", "outstanding_value")}


@pytest.mark.parametrize("content, name, why", [
    (b"type,order_id\n", "orders.txt", "cannot tell the format"),
    (b"\x1f\x8bnot really gzip", "orders.csv", "cannot read"),
    (b"type,order_id\n\xff\xfe\x00garbage\n", "orders.csv", "cannot read"),
])
def test_a_file_that_cannot_be_read_exits_1(app, runner, tmp_path, content, name, why):
    path = tmp_path / name
    path.write_bytes(content)
    result = runner.invoke(args=["import", "orders", str(path)])
    assert result.exit_code == 1 and why in result.output


def test_progress_is_plain_lines_when_not_on_a_terminal(app, runner, tmp_path):
    rows = [["purchase", f"o-{i}", f"c-{i % 7}", at(3), "1000", "EUR", ""] for i in range(1200)]
    result, summary = run(runner, "orders", write_csv(tmp_path / "orders.csv", rows))
    assert result.exit_code == 0 and summary["taken"] == 1200
    assert "rows/s" in result.output and "100% of the file" in result.output


SHOPIFY = Path(__file__).parent / "fixtures" / "shopify"


def test_a_shopify_orders_export_imports_paid_orders_lines_and_refunds(app, runner, tmp_path):
    """The fixture follows Shopify's export columns: one row per line item, the order's columns
    on its first row; paid, partially refunded, refunded, voided and pending orders; another
    currency and an amount finer than a cent."""
    report = tmp_path / "refused.csv"
    result, summary = run(runner, "orders", SHOPIFY / "orders_export.csv", "--format", "shopify",
                          "--customer-map", SHOPIFY / "customer_map.csv", "--report", report,
                          "--now", "2026-11-29T00:00:00+00:00")
    assert result.exit_code == 3, result.output
    assert summary["kinds"] == {"purchase": 4, "refund": 2} and summary["skipped"] == 2 and summary["refused"] == 2
    refused = {int(row["line"]): row["reason"] for row in report_rows(report)}
    assert set(refused) == {9, 10} and "USD" in refused[9] and refused[10].startswith("Total")
    ana, bob, cara = (state.customer(app, c) for c in ("ana@example.com", "bob@example.com", "cust-77"))
    assert ana["lifetime_spend"] == 15_998 and bob["lifetime_spend"] == 15_000
    assert cara["lifetime_spend"] == 120_000 and cara["tier"] == "gold"
    assert state.customer(app, "cara@example.com") is None and state.customer(app, "dan@example.com") is None
    from loyalty.extensions import db
    from loyalty.models import Order
    with app.app_context():
        first = db.session.query(Order).filter_by(order_key="#1001").one()
        assert [(line["sku"], line["quantity"], line["amount"]) for line in first.lines] == \
            [("NB-1", 2, 9_998), ("FP-2", 1, 6_000)]
        assert db.session.query(Order).filter_by(order_key="#1003").one().refunded == 8_000


def test_every_ledger_entry_shows_its_source(app, runner, tmp_path, client):
    from tests.api import bearer, make_key
    from tests.webhooks import deliver_shop, purchase
    run(runner, "orders", write_csv(tmp_path / "orders.csv", HISTORY))
    assert deliver_shop(client, purchase(customer="c-1", order="o-live", amount=1000)) == "processed"
    support = bearer(make_key(runner, "support"))
    assert client.post("/v1/support/customers/c-1/adjustments", json={"points": 5, "reason": "sorry"},
                       headers=support).status_code == 201
    entries = client.get("/v1/customers/c-1/transactions?limit=100", headers=support).get_json()["entries"]
    by_kind = {}
    for entry in entries:
        by_kind.setdefault(entry["kind"], set()).add((entry["order_id"], entry["source"]))
    assert by_kind["earn"] == {("o-1", "import"), ("o-2", "import"), ("o-live", "shop")}
    assert by_kind["clawback"] == {("o-2", "import")}
    assert {source for _, source in by_kind["release"] | by_kind["expiry"]} == {"jobs"}
    assert by_kind["adjustment"] == {(None, "api")}


def test_an_import_overlapping_live_webhooks_counts_nothing_twice(app, runner, tmp_path, client):
    from tests.webhooks import deliver_shop, purchase
    live = purchase(customer="c-1", order="o-1", amount=12999,
                    created=int(datetime.fromisoformat(HISTORY[0][3]).timestamp()))
    assert deliver_shop(client, live) == "processed"
    before = state.customer(app, "c-1")["lifetime_spend"]
    result, summary = run(runner, "orders", write_csv(tmp_path / "orders.csv", HISTORY[:1]))
    assert result.exit_code == 0 and summary["taken"] == 1
    assert state.customer(app, "c-1")["lifetime_spend"] == before == 12999
    assert sorted(status for source, _, status in state.events(app)) == ["duplicate", "processed"]


def _shopify_rows(**changes):
    with open(SHOPIFY / "orders_export.csv", newline="") as file:
        reader = csv.DictReader(file)
        rows, header = list(reader), reader.fieldnames
    for row in rows:
        row.update(changes.get(row["Name"], {}) if row["Financial Status"] else {})
    return header, rows


def _write_shopify(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_later_shopify_export_with_more_refunded_takes_back_the_difference(app, runner, tmp_path):
    now = "2026-11-29T00:00:00+00:00"
    first = _write_shopify(tmp_path / "first.csv", *_shopify_rows())
    run(runner, "orders", first, "--format", "shopify", "--now", now)
    assert state.customer(app, "bob@example.com")["lifetime_spend"] == 15_000
    later = _write_shopify(tmp_path / "later.csv", *_shopify_rows(**{"#1002": {"Refunded Amount": "160.00"}}))
    result, summary = run(runner, "orders", later, "--format", "shopify", "--now", now)
    assert summary["kinds"]["refund"] == 2
    assert state.customer(app, "bob@example.com")["lifetime_spend"] == 9_000
    run(runner, "orders", later, "--format", "shopify", "--now", now)            # again: nothing more
    assert state.customer(app, "bob@example.com")["lifetime_spend"] == 9_000


@pytest.mark.parametrize("changes, where", [
    ({"#1001": {"Total": "Infinity"}}, "Total"), ({"#1001": {"Total": "1e30000000"}}, "Total"),
    ({"#1002": {"Refunded Amount": "NaN"}}, "Refunded Amount"), ({"#1002": {"Lineitem quantity": "²"}}, "Lineitem"),
])
def test_unreadable_shopify_amounts_refuse_their_order_only(app, runner, tmp_path, changes, where):
    path = _write_shopify(tmp_path / "export.csv", *_shopify_rows(**changes))
    report = tmp_path / "refused.csv"
    result, summary = run(runner, "orders", path, "--format", "shopify", "--report", report,
                          "--now", "2026-11-29T00:00:00+00:00")
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert any(row["reason"].startswith(where) for row in report_rows(report))


def test_an_unreadable_customer_map_is_a_clean_error(app, runner, tmp_path):
    bad = tmp_path / "map.csv"
    bad.write_text("mail,id\nx,y\n")
    result = runner.invoke(args=["import", "orders", str(SHOPIFY / "orders_export.csv"), "--format", "shopify",
                                 "--customer-map", str(bad)])
    assert result.exit_code == 1 and "customer map" in result.output and "Traceback" not in result.output


def test_extra_columns_in_a_customers_file_are_ignored(app, runner, tmp_path):
    path = write_csv(tmp_path / "customers.csv", [["c-1", "Ana", "a@example.com"]], header=["id", "first_name", "email"])
    result, summary = run(runner, "customers", path)
    assert result.exit_code == 0 and summary["taken"] == 1


def test_a_failing_applier_stops_the_reader_thread(app, tmp_path, monkeypatch):
    import threading

    from loyalty.imports import files, orders
    from loyalty.imports.report import Progress, Report, Tally
    rows = [["purchase", f"o-{i}", f"c-{i}", at(3), "1000", "EUR", ""] for i in range(orders.CHUNK_ROWS * 5)]
    source = files.Source(write_csv(tmp_path / "orders.csv", rows), "csv")

    def broken(*_):
        raise RuntimeError("the applier broke")
    monkeypatch.setattr(orders, "_apply_and_account", broken)
    with app.app_context(), pytest.raises(RuntimeError):
        orders.import_orders(source.rows(), Report(None, Tally()), Progress(source.size, source.position), NOW)
    source.close()
    assert not any(thread.name == "import-reader" for thread in threading.enumerate())


def test_a_row_that_breaks_its_batch_is_refused_alone_and_the_rest_is_applied(app, runner, tmp_path):
    """A batch recorded and applied in one transaction that the database refuses is taken
    again one event at a time: the breaking row ends failed (kept, reported with its line),
    every other row of the batch is applied; a re-run counts nothing twice."""
    from loyalty.extensions import db
    with app.app_context():
        with db.engine.begin() as connection:     # the database refuses this one order
            if db.engine.dialect.name == "postgresql":
                connection.exec_driver_sql("ALTER TABLE orders ADD CONSTRAINT poison CHECK (order_key <> 'o-poison')")
            else:
                connection.exec_driver_sql("CREATE TRIGGER poison BEFORE INSERT ON orders WHEN NEW.order_key = "
                                           "'o-poison' BEGIN SELECT RAISE(ABORT, 'poison'); END")
    try:
        rows = HISTORY + [["purchase", "o-poison", "c-3", at(5), "5000", "EUR", ""],
                          ["purchase", "o-4", "c-3", at(4), "7000", "EUR", ""]]
        report = tmp_path / "refused.csv"
        result, summary = run(runner, "orders", write_csv(tmp_path / "orders.csv", rows), "--report", report)
        assert result.exit_code == 3, result.output
        assert summary["taken"] == 5 and summary["refused"] == 1
        refused = report_rows(report)
        assert [row["line"] for row in refused] == ["6"] and refused[0]["reason"].startswith("apply_error:")
        assert state.customer(app, "c-3")["lifetime_spend"] == 7000
        assert state.customer(app, "c-1")["lifetime_spend"] == 12999 + 250000 - 50000
        statuses = {event_id: status for _, event_id, status, *_ in state.events(app)}
        assert sorted(statuses.values()).count("failed") == 1 and len(statuses) == 6
        result, summary = run(runner, "orders", write_csv(tmp_path / "orders.csv", rows))
        assert result.exit_code == 3 and summary["taken"] == 5 and summary["refused"] == 1
        assert state.customer(app, "c-3")["lifetime_spend"] == 7000 and state.count(app, WebhookEvent) == 6
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE orders DROP CONSTRAINT poison" if db.engine.dialect.name ==
                                       "postgresql" else "DROP TRIGGER poison")


def test_rows_are_dealt_out_by_customer_and_a_refund_follows_its_purchase(monkeypatch):
    """Processes side by side: every row of a customer to one process; a refund (its row
    has no customer) to its purchase's, the last ORDER_MEMORY purchases remembered."""
    from collections import OrderedDict

    from loyalty.imports import apart
    monkeypatch.setattr(apart, "ORDER_MEMORY", 50)
    owners, taken = OrderedDict(), {}
    for n in range(200):
        customer = f"c-{n % 40}"
        taker = apart.share({"type": "purchase", "order_id": f"o-{n}", "customer_id": customer}, owners, 3, n)
        assert taken.setdefault(customer, taker) == taker and 0 <= taker < 3
    assert len(set(taken.values())) == 3 and len(owners) == 50        # shared out; memory bounded
    for n in range(150, 200):                                           # remembered: with their purchase
        assert apart.share({"type": "refund", "order_id": f"o-{n}"}, owners, 3, n) == taken[f"c-{n % 40}"]
    forgotten = apart.share({"type": "refund", "order_id": "o-3"}, owners, 3, 7)
    assert forgotten == apart.share({"type": "refund", "order_id": "o-3"}, OrderedDict(), 3, 8)   # by the order id
    assert apart.share({"type": "purchase", "order_id": None}, owners, 3, 7) == 1       # refused later: by line
