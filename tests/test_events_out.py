"""Events out, end to end in the process: an endpoint registered with the real command line,
purchases applied by the batch applier, events sent by the worker's sender to a real HTTP
receiver on loopback that checks every signature with the `standardwebhooks` package."""
import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from loyalty.extensions import db
from loyalty.models import Customer, Delivery, DeliveryAttempt, OutboundEvent, WebhookEndpoint
from loyalty.outbox import record as outbox
from loyalty.outbox.catalog import Notice
from loyalty.worker import send_due
from tests.api import bearer, make_key
from tests.receiver import Receiver, WebhookVerificationError, verify
from tests.webhooks import deliver_shop, purchase, refund

FAST = {"LOYALTY_WEBHOOK_RETRY_SCHEDULE": "0,0,0,0", "LOYALTY_WEBHOOK_TIMEOUT": 0.5}


@pytest.fixture
def fast_app(app, app_factory, database_url):
    """An app whose retries are due at once and whose receivers have half a second to answer
    (`app` cleans the database afterwards)."""
    return app_factory(database_url, **FAST)


@pytest.fixture
def receiver(make_receiver):
    return make_receiver()


@pytest.fixture
def make_receiver():
    """Receivers made as the test asks (Receiver's options), all closed afterwards."""
    made = []

    def make(**options):
        made.append(Receiver(**options))
        return made[-1]
    yield make
    for one in made:
        one.close()


def register(app, url, *options):
    result = app.test_cli_runner().invoke(args=["endpoints", "add", url, *options])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("endpoint ")
    return int(lines[0].split()[1]), lines[-1]


def deliveries(app):
    with app.app_context():
        rows = db.session.execute(select(Delivery.status, Delivery.attempts, OutboundEvent.type)
                                  .join(OutboundEvent, OutboundEvent.id == Delivery.event_id)
                                  .order_by(Delivery.id)).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def attempt_log(app):
    """Every attempt so far: (status, error, latency in ms), oldest first."""
    with app.app_context():
        rows = db.session.execute(select(DeliveryAttempt.status, DeliveryAttempt.error, DeliveryAttempt.latency_ms)
                                  .order_by(DeliveryAttempt.id)).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def send_until_settled(app, rounds=20):
    """The worker's sender, round after round, until nothing is pending (retries are due at once)."""
    for _ in range(rounds):
        send_due(app)
        if all(status != "pending" for status, _, _ in deliveries(app)):
            return
    raise AssertionError(f"deliveries still pending: {deliveries(app)}")


def test_a_purchase_is_sent_signed_with_the_balance_after_it(app, client, receiver):
    endpoint_id, secret = register(app, receiver.url)
    assert secret.startswith("whsec_")
    assert deliver_shop(client, purchase(customer="c-1", order="o-1", amount=12999)) == "processed"
    assert send_due(app) == 1
    [event] = receiver.events(secret)
    assert event["type"] == "points.earned" and event["customer_id"] == "c-1" and event["sequence"] == 1
    assert event["data"]["order_id"] == "o-1" and event["data"]["status"] == "pending"
    assert event["data"]["points"] == event["balance"]["points"]["pending"] == 129 + 100
    assert event["data"]["available_on"]
    assert event["balance"]["customer_id"] == "c-1" and event["balance"]["tier"]["name"] == "standard"
    [request] = receiver.requests
    assert request["headers"]["webhook-id"] == event["id"] and event["id"].startswith("msg_")
    assert abs(int(request["headers"]["webhook-timestamp"]) - datetime.now(timezone.utc).timestamp()) < 60
    with pytest.raises(WebhookVerificationError):       # the signature is of these bytes only
        verify(secret, {**request, "body": request["body"].replace("c-1", "c-2")})
    assert deliveries(app) == [("delivered", 1, "points.earned")]
    assert send_due(app) == 0                           # delivered: never sent again


def test_nothing_is_written_without_an_endpoint_and_types_are_filtered(app, client, receiver):
    assert deliver_shop(client, purchase(customer="c-1", order="o-1", amount=150000)) == "processed"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboundEvent)) == 0
        assert db.session.get(Customer, "c-1").event_sequence == 0
    register(app, receiver.url, "--events", "tier.changed")
    assert deliver_shop(client, purchase(customer="c-2", order="o-2", amount=150000)) == "processed"
    send_due(app)
    assert [(e["type"], e["data"]) for e in receiver.events()] == [
        ("tier.changed", {"from": "standard", "to": "gold", "why": "purchase"})]


def test_sequence_numbers_order_one_customers_events(app, client, receiver):
    _, secret = register(app, receiver.url)
    deliver_shop(client, purchase(customer="c-1", order="o-1", amount=90000))
    deliver_shop(client, purchase(customer="c-1", order="o-2", amount=20000))      # into gold
    deliver_shop(client, purchase(customer="c-9", order="o-3", amount=1000))
    deliver_shop(client, refund(order="o-2", refund_id="r-1", amount=20000))       # back to standard
    send_until_settled(app)
    events = receiver.events(secret)
    mine = [(e["sequence"], e["type"]) for e in events if e["customer_id"] == "c-1"]
    assert sorted(mine) == [(1, "points.earned"), (2, "points.earned"), (3, "tier.changed"),
                            (4, "priority.changed"), (5, "tier.changed"), (6, "priority.changed")]
    changes = sorted((e["sequence"], e["data"]) for e in events if e["type"] in ("tier.changed", "priority.changed"))
    assert changes[0][1] == {"from": "standard", "to": "gold", "why": "purchase"}
    assert changes[1][1]["to"] == {"priority": True, "response_target_hours": 2} and changes[1][1]["why"] == "tier"
    assert changes[2][1] == {"from": "gold", "to": "standard", "why": "refund"}
    assert changes[3][1]["to"] == {"priority": False, "response_target_hours": 14}
    assert [e["sequence"] for e in events if e["customer_id"] == "c-9"] == [1]
    assert len({e["id"] for e in events}) == len(events)


def test_a_receiver_failing_n_times_gets_the_event_once_with_n_failures_logged(fast_app, make_receiver):
    app = fast_app
    failing = make_receiver(fail_first=3, status=503)
    register(app, failing.url)
    deliver_shop(app.test_client(), purchase(customer="c-1", order="o-1"))
    send_until_settled(app)
    assert len(failing.requests) == 4 and len(set(failing.ids())) == 1
    assert deliveries(app) == [("delivered", 4, "points.earned")]
    assert [(status, error) for status, error, _ in attempt_log(app)] == [(503, "HTTP 503")] * 3 + [(200, None)]


def test_a_receiver_that_hangs_is_timed_out_and_tried_again(fast_app, make_receiver):
    app = fast_app
    hanging = make_receiver(hang_first=1, hang_seconds=5)
    register(app, hanging.url)
    deliver_shop(app.test_client(), purchase(customer="c-1", order="o-1"))
    send_due(app)
    [(status, error, latency_ms)] = attempt_log(app)
    assert status is None and error == "timed out" and latency_ms < 4000
    send_until_settled(app)
    assert deliveries(app) == [("delivered", 2, "points.earned")]
    assert len(set(hanging.ids())) == 1 and len(hanging.ids()) == 2


def test_redirects_are_not_followed(fast_app, make_receiver):
    app = fast_app
    moving = make_receiver(redirect=True)
    register(app, moving.url)
    deliver_shop(app.test_client(), purchase(customer="c-1", order="o-1"))
    send_due(app)
    assert [(status, error) for status, error, _ in attempt_log(app)] == [(302, "redirect not followed")]
    assert len(moving.requests) == 1


def test_an_endpoint_failing_all_the_schedule_is_disabled_with_the_reason(fast_app, make_receiver):
    app = fast_app
    down = make_receiver(fail_first=100, status=500)
    endpoint_id, _ = register(app, down.url)
    deliver_shop(app.test_client(), purchase(customer="c-1", order="o-1"))
    send_until_settled(app)
    assert deliveries(app) == [("failed", 5, "points.earned")]           # 1 + 4 retries
    listed = app.test_cli_runner().invoke(args=["endpoints", "list"])
    [shown] = [json.loads(line) for line in listed.output.splitlines()]
    assert shown["id"] == endpoint_id and shown["enabled"] is False
    assert "Every delivery failed" in shown["disabled_reason"] and "HTTP 500" in shown["disabled_reason"]
    assert "whsec_" not in listed.output
    deliver_shop(app.test_client(), purchase(customer="c-1", order="o-2"))
    assert len(deliveries(app)) == 1                                    # disabled: takes nothing new


def test_replay_by_delivery_and_by_time_range_keeps_the_id(app, client, receiver):
    endpoint_id, secret = register(app, receiver.url)
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    deliver_shop(client, purchase(customer="c-1", order="o-1"))
    send_due(app)
    runner = app.test_cli_runner()
    [item] = [json.loads(line) for line in runner.invoke(args=["deliveries", "list"]).output.splitlines()]
    result = runner.invoke(args=["deliveries", "replay", str(item["id"])])
    assert result.exit_code == 0, result.output
    send_due(app)
    runner.invoke(args=["endpoints", "disable", str(endpoint_id)])
    deliver_shop(client, purchase(customer="c-2", order="o-2"))             # missed while disabled:
    send_due(app)                                                           # no delivery made for it
    assert len(receiver.ids()) == 2
    runner.invoke(args=["endpoints", "enable", str(endpoint_id)])
    result = runner.invoke(args=["deliveries", "replay", "--since", started.isoformat(), "--until",
                                 (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat(),
                                 "--endpoint", str(endpoint_id)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"replayed": 1, "added": 1, "endpoints": [endpoint_id]}
    send_due(app)
    ids = receiver.ids()            # the last two were sent side by side: in either order
    assert len(ids) == 4 and ids[0] == ids[1] and sorted(Counter(ids).values()) == [1, 3]
    assert sorted(e["customer_id"] for e in receiver.events(secret)) == ["c-1", "c-1", "c-1", "c-2"]


def test_rotation_signs_with_both_secrets_during_the_overlap(app, client, receiver):
    endpoint_id, old = register(app, receiver.url)
    result = app.test_cli_runner().invoke(args=["endpoints", "rotate-secret", str(endpoint_id)])
    assert result.exit_code == 0, result.output
    new = result.output.strip().splitlines()[-1]
    assert new.startswith("whsec_") and new != old
    deliver_shop(client, purchase(customer="c-1", order="o-1"))
    send_due(app)
    [request] = receiver.requests
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    verify(old, request) and verify(new, request)
    with app.app_context():                                                 # the overlap is over
        db.session.execute(update(WebhookEndpoint).values(
            previous_secret_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
        db.session.commit()
    deliver_shop(client, purchase(customer="c-1", order="o-2"))
    send_due(app)
    latest = receiver.requests[-1]
    verify(new, latest)
    with pytest.raises(WebhookVerificationError):
        verify(old, latest)


def test_a_rolled_back_change_emits_nothing(app, receiver):
    register(app, receiver.url)
    with app.app_context():
        db.session.add(Customer(id="c-1"))
        db.session.commit()
        from loyalty.programme import current_programme
        written = outbox.record(db.session, current_programme(), [
            Notice("points.adjusted", "c-1", {"points": 5, "reason": "test", "by": "t"})],
            datetime.now(timezone.utc))
        assert written == 1
        assert db.session.scalar(select(func.count()).select_from(OutboundEvent)) == 1    # inside the transaction
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(OutboundEvent)) == 0
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
        assert db.session.get(Customer, "c-1").event_sequence == 0
        db.session.remove()
    assert send_due(app) == 0 and receiver.requests == []


def test_api_actions_and_failed_events_are_sent(app, client, receiver):
    _, secret = register(app, receiver.url)
    runner = app.test_cli_runner()
    shop, support = make_key(runner, "shop"), make_key(runner, "support", name="agent-7")
    deliver_shop(client, purchase(customer="c-1", order="o-1"))
    answer = client.post("/v1/support/customers/c-1/adjustments", json={"points": 1000, "reason": "late parcel"},
                         headers=bearer(support))
    assert answer.status_code == 201
    answer = client.post("/v1/customers/c-1/redemptions", json={"points": 500, "order_id": "o-7"},
                         headers={**bearer(shop), "Idempotency-Key": "k-1"})
    assert answer.status_code == 201
    until = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    answer = client.post("/v1/support/customers/c-1/priority", json={"reason": "complaint", "until": until},
                         headers=bearer(support))
    assert answer.status_code == 200
    assert deliver_shop(client, purchase(customer="c-2", order="o-1")) == "failed"     # o-1 is c-1's
    send_due(app)
    events = {e["type"]: e for e in receiver.events(secret)}
    adjusted = events["points.adjusted"]["data"]
    assert (adjusted["points"], adjusted["reason"]) == (1000, "late parcel") and "agent-7" in adjusted["by"]
    assert events["points.adjusted"]["balance"]["points"]["available"] == 1000
    assert events["points.redeemed"]["data"]["points"] == 500
    assert events["points.redeemed"]["data"]["amount_off"]["amount"] > 0
    assert events["points.redeemed"]["balance"]["points"]["available"] == 500
    assert events["priority.changed"]["data"]["why"] == "manual"
    assert events["priority.changed"]["data"]["to"] == {"priority": True, "response_target_hours": 2}
    failed = events["event.failed"]
    assert failed["customer_id"] is None and failed["sequence"] is None and failed["balance"] is None
    assert failed["data"]["source"] == "shop" and failed["data"]["error"]["code"] == "order_conflict"
    assert [events[t]["sequence"] for t in ("points.earned", "points.adjusted", "points.redeemed",
                                            "priority.changed")] == [1, 2, 3, 4]


def test_a_trickling_answer_is_cut_at_the_deadline(fast_app, make_receiver):
    app = fast_app
    slow = make_receiver(trickle=True)
    register(app, slow.url)
    deliver_shop(app.test_client(), purchase(customer="c-1", order="o-1"))
    send_due(app)
    [(status, error, latency_ms)] = attempt_log(app)
    assert (status, error) == (200, "timed out") and latency_ms < 3000   # 100 bytes would take 20 s


def test_an_endpoint_that_cannot_be_sent_to_does_not_hold_up_the_others(app, client, receiver):
    _, secret = register(app, receiver.url)
    register(app, "http://例子.localhost:1/hook")                          # a name that will not resolve
    deliver_shop(client, purchase(customer="c-1", order="o-1"))
    send_due(app)
    send_due(app)
    assert len(receiver.events(secret)) == 1                                # sent once, its outcome recorded
    errors = [error for status, error, _ in attempt_log(app) if status is None]
    assert len(errors) == 1 and errors[0].startswith("refused: the host name does not resolve")


def test_a_disabled_endpoint_waits_and_is_sent_to_once_enabled(fast_app, make_receiver):
    app = fast_app
    flaky = make_receiver(fail_first=1)
    endpoint_id, _ = register(app, flaky.url)
    deliver_shop(app.test_client(), purchase(customer="c-1", order="o-1"))
    send_due(app)                                                       # fails once: retry due at once
    runner = app.test_cli_runner()
    assert runner.invoke(args=["endpoints", "disable", str(endpoint_id)]).exit_code == 0
    send_due(app)
    assert len(flaky.requests) == 1 and deliveries(app) == [("pending", 1, "points.earned")]
    assert runner.invoke(args=["endpoints", "enable", str(endpoint_id)]).exit_code == 0
    send_due(app)
    assert len(flaky.requests) == 2 and deliveries(app) == [("delivered", 2, "points.earned")]
