"""Events out from the scheduled jobs (release, expiry, review, and the dated ones: birthday,
points about to expire, a tier a review would lower), each once however often the jobs run;
imported history sends nothing; refused endpoint URLs; the admin API."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.models import OutboundEvent
from loyalty.worker import send_due
from tests.api import bearer, make_key
from tests.receiver import Receiver
from tests.test_events_out import register
from tests.test_imports import HISTORY, run as run_import, write_csv
from tests.test_jobs import BOUGHT, DAY, buy, jobs


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def received(app, receiver, secret, kind=None):
    send_due(app)
    return [e for e in receiver.events(secret) if kind is None or e["type"] == kind]


def test_release_expiry_and_review_send_their_events(app, client, runner, receiver):
    _, secret = register(app, receiver.url, "--events", "points.available,points.expired,tier.changed")
    buy(client, "o-1", 100_000)                                             # gold, 1000 + 100 pending
    jobs(runner, BOUGHT + 14 * DAY)
    [available] = received(app, receiver, secret, "points.available")
    assert available["data"]["order_id"] == "o-1" and available["data"]["points"] == 1100
    assert available["balance"]["points"] == {"available": 1100, "pending": 0,
                                              "expiring": [{"points": 1100, "on": available["balance"]["points"]
                                                            ["expiring"][0]["on"]}]}
    jobs(runner, BOUGHT + 380 * DAY)
    [expired] = received(app, receiver, secret, "points.expired")
    assert expired["data"]["points"] == 1100 and expired["balance"]["points"]["available"] == 0
    changes = [e["data"] for e in received(app, receiver, secret, "tier.changed")]
    assert changes == [{"from": "standard", "to": "gold", "why": "purchase"},
                       {"from": "gold", "to": "standard", "why": "review"}]
    count = len(receiver.requests)
    jobs(runner, BOUGHT + 380 * DAY)                                        # again: nothing new
    assert len(received(app, receiver, secret)) == count


def test_a_birthday_is_sent_on_the_day_once(app, client, runner, receiver):
    _, secret = register(app, receiver.url, "--events", "customer.birthday")
    shop = make_key(runner, "shop")
    on = (BOUGHT + 100 * DAY).date()
    for customer, born in (("c-1", date(1990, on.month, on.day)), ("c-2", date(1990, on.month, 1 + on.day % 27))):
        answer = client.put(f"/v1/customers/{customer}", json={"birthday": born.isoformat()}, headers=bearer(shop))
        assert answer.status_code in (200, 201), answer.get_json()
    jobs(runner, BOUGHT + 100 * DAY)
    jobs(runner, BOUGHT + 100 * DAY + timedelta(hours=3))                   # the same day again
    jobs(runner, BOUGHT + 101 * DAY)
    [event] = received(app, receiver, secret)
    assert event["customer_id"] == "c-1" and event["data"] == {"birthday": f"1990-{on:%m-%d}", "on": on.isoformat()}


def test_points_about_to_expire_are_announced_once_per_lead_time(app, client, runner, receiver):
    _, secret = register(app, receiver.url, "--events", "points.expiring")
    buy(client, "o-1", 10_000)                                              # 200 points
    jobs(runner, BOUGHT + 14 * DAY)                                         # released: a lot
    expires = (BOUGHT + (14 + 365) * DAY).date()
    for days_before in (40, 20, 19, 5, 4, 1):
        jobs(runner, BOUGHT + (14 + 365 - days_before) * DAY)
    events = sorted(received(app, receiver, secret), key=lambda e: e["sequence"])
    assert [e["data"] for e in events] == [{"points": 200, "on": expires.isoformat(), "lead_days": 30},
                                           {"points": 200, "on": expires.isoformat(), "lead_days": 7}]


def test_a_tier_a_review_would_lower_is_announced_with_the_spend_that_keeps_it(app, client, runner, receiver):
    _, secret = register(app, receiver.url, "--events", "tier.will_downgrade,tier.changed")
    buy(client, "o-1", 100_000)                                             # gold from BOUGHT
    jobs(runner, BOUGHT + 330 * DAY)                                        # more than 30 days ahead
    assert received(app, receiver, secret, "tier.will_downgrade") == []
    jobs(runner, BOUGHT + 345 * DAY)
    jobs(runner, BOUGHT + 346 * DAY)
    [warning] = received(app, receiver, secret, "tier.will_downgrade")
    data = warning["data"]
    assert (data["tier"], data["to"]) == ("gold", "standard")
    assert data["spend_needed"] == {"amount": 100_000, "currency": "EUR"}
    on = date.fromisoformat(data["on"])
    assert (BOUGHT + 345 * DAY).date() < on <= (BOUGHT + 375 * DAY).date()
    review_day = BOUGHT.replace(hour=0) + (on - BOUGHT.date()).days * DAY
    jobs(runner, review_day - DAY + timedelta(hours=23))                   # the day before: still gold
    assert received(app, receiver, secret, "tier.changed")[-1]["data"]["to"] == "gold"
    jobs(runner, review_day + timedelta(hours=23))                         # that day: lowered, as announced
    assert received(app, receiver, secret, "tier.changed")[-1]["data"] == {"from": "gold", "to": "standard",
                                                                           "why": "review"}


def test_imported_history_sends_nothing(app, runner, tmp_path, client, receiver):
    register(app, receiver.url)
    result, summary = run_import(runner, "orders", write_csv(tmp_path / "orders.csv", HISTORY))
    assert result.exit_code == 0 and summary["taken"] == 4
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboundEvent)) == 0
        db.session.remove()
    buy(client, "o-live", 10_000, customer="c-1")                           # live events still go
    assert [e["type"] for e in received(app, receiver, None)] == ["points.earned"]


@pytest.mark.parametrize("url, reason", [
    ("ftp://example.com/hook", "http or https"),
    ("http://93.184.216.34/hook", "plain http is allowed to loopback only"),
    ("https://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local or metadata"),
    ("https://100.100.100.200/hook", "link-local or metadata"),
    ("https://[fe80::1]/hook", "link-local or metadata"),
    ("https://[::ffff:10.0.0.1]/hook", "private"),
    ("https://[2002:0a00:0001::1]/hook", "private"),                       # 6to4 around 10.0.0.1
    ("https://[2002:a9fe:a9fe::1]/hook", "link-local or metadata"),         # 6to4 around the metadata service
    ("https://[fec0::1]/hook", "site-local"),
    ("https://0.0.0.0/hook", "private"),
    ("https://user:pw@93.184.216.34/hook", "credentials"),
    ("https://no-such-host.invalid/hook", "does not resolve"),
    ("not a url", "http or https"),
])
def test_refused_urls(app, runner, url, reason):
    result = runner.invoke(args=["endpoints", "add", url])
    assert result.exit_code == 1 and reason in result.output, result.output
    admin = make_key(runner, "admin")
    answer = app.test_client().post("/v1/admin/webhook-endpoints", json={"url": url}, headers=bearer(admin))
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "url_not_allowed"
    assert reason in answer.get_json()["error"]["message"]


def test_allowed_urls_and_the_private_switch(app_factory, database_url, app, runner):
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]:9/x", "https://93.184.216.34/h"):
        assert runner.invoke(args=["endpoints", "add", url]).exit_code == 0, url
    private = app_factory(database_url, LOYALTY_WEBHOOK_ALLOW_PRIVATE=True).test_cli_runner()
    assert private.invoke(args=["endpoints", "add", "https://10.1.2.3/hook"]).exit_code == 0
    assert private.invoke(args=["endpoints", "add", "http://10.1.2.3/hook"]).exit_code == 1     # https still


def test_the_admin_api_manages_endpoints_and_reads_the_delivery_log(app, client, runner, receiver):
    admin, shop = make_key(runner, "admin"), make_key(runner, "shop")
    answer = client.post("/v1/admin/webhook-endpoints", json={"url": receiver.url, "events": ["points.earned"],
                                                              "description": "Klaviyo"}, headers=bearer(admin))
    assert answer.status_code == 201
    created = answer.get_json()
    assert created["secret"].startswith("whsec_") and created["events"] == ["points.earned"]
    assert client.get("/v1/admin/webhook-endpoints", headers=bearer(shop)).status_code == 403
    listed = client.get("/v1/admin/webhook-endpoints", headers=bearer(admin)).get_json()["endpoints"]
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]
    bad = client.post("/v1/admin/webhook-endpoints", json={"url": receiver.url, "events": ["points.stolen"]},
                      headers=bearer(admin))
    assert bad.status_code == 422
    buy(client, "o-1", 10_000, customer="c-1")
    send_due(app)
    log = client.get(f"/v1/admin/deliveries?endpoint={created['id']}&status=delivered&type=points.earned",
                     headers=bearer(admin)).get_json()
    [item] = log["deliveries"]
    assert item["status"] == "delivered" and item["attempts"] == 1 and item["customer_id"] == "c-1"
    assert client.get("/v1/admin/deliveries?status=failed", headers=bearer(admin)).get_json()["deliveries"] == []
    assert client.get("/v1/admin/deliveries?type=nope", headers=bearer(admin)).status_code == 422
    detail = client.get(f"/v1/admin/deliveries/{item['id']}", headers=bearer(admin)).get_json()
    assert detail["payload"]["id"] == item["event_id"] and detail["attempt_log"][0]["status"] == 200
    assert detail["attempt_log"][0]["response"] == '{"ok": true}'
    assert client.post(f"/v1/admin/deliveries/{item['id']}/replay", headers=bearer(admin)).status_code == 202
    send_due(app)
    assert receiver.ids() == [item["event_id"]] * 2
    rotated = client.post(f"/v1/admin/webhook-endpoints/{created['id']}/rotate-secret", headers=bearer(admin))
    assert rotated.get_json()["secret"] != created["secret"] and rotated.get_json()["previous_secret_until"]
    disabled = client.post(f"/v1/admin/webhook-endpoints/{created['id']}/disable", headers=bearer(admin))
    assert disabled.get_json()["enabled"] is False
    assert client.delete(f"/v1/admin/webhook-endpoints/{created['id']}", headers=bearer(admin)).status_code == 204
    assert client.get(f"/v1/admin/webhook-endpoints/{created['id']}", headers=bearer(admin)).status_code == 404
    assert client.get(f"/v1/admin/deliveries/{item['id']}", headers=bearer(admin)).status_code == 404
    unknown = runner.invoke(args=["deliveries", "replay", "999"])
    assert unknown.exit_code == 1 and "No such delivery" in unknown.output


def test_a_manual_priority_that_ends_is_announced_once(app, client, runner, receiver):
    _, secret = register(app, receiver.url, "--events", "priority.changed")
    support = make_key(runner, "support")
    buy(client, "o-1", 10_000, customer="c-1", at=datetime.now(timezone.utc) - DAY)       # standard tier
    until = datetime.now(timezone.utc) + 2 * DAY
    answer = client.post("/v1/support/customers/c-1/priority", json={"reason": "complaint",
                                                                     "until": until.isoformat()},
                         headers=bearer(support))
    assert answer.status_code == 200
    jobs(runner, until - DAY)                                                # still on: nothing
    jobs(runner, until + DAY)
    jobs(runner, until + DAY + timedelta(hours=2))                           # again the same day: nothing
    events = sorted(received(app, receiver, secret), key=lambda e: e["sequence"])
    assert [(e["data"]["why"], e["data"]["to"]) for e in events] == [
        ("manual", {"priority": True, "response_target_hours": 2}),
        ("manual", {"priority": False, "response_target_hours": 14})]
    ended = events[1]["data"]
    assert ended["reason"] == "complaint" and ended["ended"].startswith(until.date().isoformat())
