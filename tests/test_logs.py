"""Logs: a JSON line per request and per applied event, with the reason when an event was
not simply processed, and never what a customer or a shop sent (a planted marker is
looked for in the log of a real gunicorn whose database fails)."""
import io
import json
import logging

import pytest

from loyalty import logs
from loyalty.worker import drain
from tests.servers import Gunicorn
from tests.webhooks import post_shop, purchase, refund, signature

MARKER = "planted-marker-5f3a9c"


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)         # setLevel, not .level: it clears the loggers' cached answers
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_line_per_request_with_its_request_id(client, log_lines):
    answer = client.get("/health", headers={"X-Request-Id": "lb-1234.a_b"})
    assert answer.headers["X-Request-Id"] == "lb-1234.a_b"
    forged = client.get("/health", headers={"X-Request-Id": "two words; and \x22quotes\x22"})
    assert len(forged.headers["X-Request-Id"]) == 32                 # not echoed: a fresh id instead
    lines = [line for line in log_lines() if line["logger"] == "loyalty.requests"]
    assert [(line["request_id"], line["path"], line["status"]) for line in lines] == [
        ("lb-1234.a_b", "/health", 200), (forged.headers["X-Request-Id"], "/health", 200)]
    assert all(line["duration_ms"] >= 0 and line["method"] == "GET" for line in lines)


def test_a_line_per_applied_event_with_the_reason_when_not_processed(app, client, log_lines):
    post_shop(client, purchase(customer="c-1", order="o-1", event_id="evt-1"))
    post_shop(client, purchase(customer="c-2", order="o-1", event_id="evt-2"))       # o-1 is c-1's: fails
    post_shop(client, refund(order="o-404", refund_id="r-1", event_id="evt-3"))      # no purchase yet: parked
    post_shop(client, {"id": "evt-4", "type": "customer.updated", "created": 1795000000, "data": {}})
    assert drain(app) == 3                                  # evt-4 was stored ignored at its webhook
    post_shop(client, refund(order="o-1", refund_id="r-9", amount=99_999, event_id="evt-5"))   # beyond the order
    assert drain(app) == 1
    lines = {line["event_id"]: line for line in log_lines() if line["logger"] == "loyalty.events"}
    assert lines["evt-1"]["outcome"] == "processed" and lines["evt-1"]["customer_id"] == "c-1"
    assert "reason" not in lines["evt-1"] and lines["evt-1"]["source"] == "shop"
    assert lines["evt-2"]["outcome"] == "failed" and lines["evt-2"]["code"] == "order_conflict"
    assert lines["evt-2"]["level"] == "warning" and lines["evt-2"]["reason"]
    assert lines["evt-3"]["outcome"] == "parked" and lines["evt-3"]["reason"] == logs.REASONS["parked"]
    assert lines["evt-3"]["order"] == "o-404"
    assert lines["evt-4"]["outcome"] == "ignored" and "not one this service consumes" in lines["evt-4"]["reason"]
    assert lines["evt-5"]["outcome"] == "processed" and lines["evt-5"]["code"] == "refund_capped"
    assert "more than its total" in lines["evt-5"]["reason"]


def test_a_failing_run_logs_no_payload_and_no_sql_parameters(tmp_path):
    """A database never migrated: every write fails. The log says so, without the body."""
    server = Gunicorn("sqlite:///" + str(tmp_path / "never-migrated.sqlite"), workers=1, healthy=False)
    try:
        event = purchase(customer="c-1", order="o-1", email=f"{MARKER}@example.com")
        body = json.dumps(event)
        status, answer = server.request("POST", "/webhooks/shop", body,
                                        {"Loyalty-Signature": signature(body, "shop_test_secret")})
        assert status == 503 and answer["error"]["code"] == "storage_unavailable"
        assert MARKER not in json.dumps(answer)
    finally:
        server.stop()
    output = server.output()
    assert "storage unavailable on POST /webhooks/shop" in output
    assert "SQL parameters hidden" in output or "parameters" not in output
    assert MARKER not in output and "shop_test_secret" not in output
    requests = [json.loads(line) for line in output.splitlines() if line.startswith("{")
                and json.loads(line).get("logger") == "loyalty.requests"]
    assert [(line["path"], line["status"]) for line in requests][-1] == ("/webhooks/shop", 503)
