"""What lies ahead for a customer (GET /v1/customers/{id}/outlook), worked out by hand."""
from datetime import datetime, time, timedelta, timezone

from rules.tiers import spend_counts_until
from tests.api import bearer, make_key, token
from tests.rules.strategies import DEFAULT
from tests.webhooks import deliver_shop, purchase

TODAY = datetime.now(timezone.utc).date()


def at(days_ago):
    return int(datetime.combine(TODAY - timedelta(days=days_ago), time(12), tzinfo=timezone.utc).timestamp())


def test_pending_dates_the_response_target_and_a_review_that_would_lower_the_tier(app, client, runner):
    # Gold since a 1,000.00 purchase 340 days ago: held 365 days and aged out of the window
    # on the same day, 25 days from now; 20,000 two days ago, pending 14 days (250 points,
    # gold's +25 %). The old purchase's 1,100 points are released by the jobs.
    assert deliver_shop(client, purchase(customer="c-1", order="o-1", amount=100_000, created=at(340))) == "processed"
    assert runner.invoke(args=["jobs", "run"]).exit_code == 0
    assert deliver_shop(client, purchase(customer="c-1", order="o-2", amount=20_000, created=at(2))) == "processed"
    answer = client.get("/v1/customers/c-1/outlook", headers=bearer(token("c-1")))
    assert answer.status_code == 200
    assert answer.get_json() == {
        "customer_id": "c-1", "pending": [{"points": 250, "on": (TODAY + timedelta(days=12)).isoformat()}],
        "response_target_hours": 2,
        "next_tier_spend_counts_until": (TODAY + timedelta(days=24)).isoformat(),
        "will_downgrade": {"on": (TODAY + timedelta(days=25)).isoformat(), "to": "standard",
                           "spend_needed": {"amount": 100_000 - 20_000, "currency": "EUR"}}}
    balance = client.get("/v1/customers/c-1/balance", headers=bearer(token("c-1"))).get_json()
    assert balance["points"]["pending"] == 250


def test_a_standard_customer_with_nothing_ahead_and_who_may_read_it(app, client, runner):
    assert client.put("/v1/customers/c-2", json={}, headers=bearer(make_key(runner, "shop"))).status_code == 201
    assert client.get("/v1/customers/c-2/outlook", headers=bearer(token("c-2"))).get_json() == {
        "customer_id": "c-2", "pending": [], "response_target_hours": 14, "next_tier_spend_counts_until": None,
        "will_downgrade": None}
    assert client.get("/v1/customers/c-2/outlook", headers=bearer(token("c-1"))).status_code == 404
    assert client.get("/v1/customers/nobody/outlook", headers=bearer(make_key(runner, "support"))).status_code == 404
    assert client.get("/v1/customers/c-2/outlook").status_code == 401


def test_spend_counts_until_the_oldest_spend_of_the_window_leaves_it():
    today = TODAY
    assert spend_counts_until(DEFAULT, {}, today) is None
    assert spend_counts_until(DEFAULT, {today - timedelta(days=100): 0}, today) is None
    spend = {today - timedelta(days=100): 5_000, today - timedelta(days=10): 7_000}
    assert spend_counts_until(DEFAULT, spend, today) == today + timedelta(days=264)
