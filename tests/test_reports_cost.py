"""The cost report on a small history of real purchases, refunds and redemptions, worked
out by hand; the command line, the admin API and CSV."""
import csv
import io
import json
from datetime import datetime, time, timedelta, timezone

from tests.api import bearer, make_key
from tests.webhooks import deliver_shop, purchase, refund

TODAY = datetime.now(timezone.utc).date()


def at(days_ago):
    return int(datetime.combine(TODAY - timedelta(days=days_ago), time(12), tzinfo=timezone.utc).timestamp())


def test_cost_by_tier_on_a_small_history_equals_the_one_worked_out_by_hand(app, client, runner):
    for customer, order, amount, days_ago in (("c-1", "o-1", 100_000, 90), ("c-1", "o-2", 20_000, 40),
                                              ("c-2", "o-3", 30_000, 30), ("c-2", "o-4", 10_000, 20),
                                              ("c-3", "o-5", 50_000, 10)):
        assert deliver_shop(client, purchase(customer=customer, order=order, amount=amount,
                                             created=at(days_ago))) == "processed"
    assert deliver_shop(client, refund(order="o-2", refund_id="r-1", amount=5_000, created=at(39))) == "processed"
    assert deliver_shop(client, refund(order="o-5", refund_id="r-2", amount=50_000, created=at(9))) == "processed"
    support, shop = make_key(runner, "support"), make_key(runner, "shop")
    for customer, points in (("c-1", 500), ("c-2", 600)):
        assert client.post(f"/v1/support/customers/{customer}/adjustments", json={"points": 900, "reason": "sorry"},
                           headers=bearer(support)).status_code == 201
        assert client.post(f"/v1/customers/{customer}/redemptions", json={"points": points, "order_id": "x"},
                           headers={**bearer(shop), "Idempotency-Key": customer}).status_code == 201
    since = (TODAY - timedelta(days=60)).isoformat()
    result = runner.invoke(args=["report", "cost", "--from", since, "--format", "json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    # By hand. o-1 (90 days ago) is before the period; it made c-1 gold with 1,000.00 of
    # lifetime spend: 7 %. o-2 (gold, 7 %): 200.00 less a 50.00 refund, 150.00 paid, so
    # 15,000 x 7 / 93 = 1,129 off. o-3: c-2's first purchase, 0 %. o-4: 300.00 before it,
    # 3 %: 10,000 x 3 / 97 = 309. o-5 was refunded in full: not counted. Redemptions: c-1
    # (gold) 500 points = 5.00, c-2 (standard) 600 points = 6.00.
    eur = lambda amount: {"amount": amount, "currency": "EUR"}      # noqa: E731
    assert found["by_tier"]["gold"] == {
        "purchases": 1, "members_spend": eur(15_000), "discounts_given": eur(1129), "redemptions": 1,
        "points_redeemed": 500, "redeemed_value": eur(500), "cost": eur(1629), "cost_share": round(1629 / 15_000, 6)}
    assert found["by_tier"]["standard"] == {
        "purchases": 2, "members_spend": eur(40_000), "discounts_given": eur(309), "redemptions": 1,
        "points_redeemed": 600, "redeemed_value": eur(600), "cost": eur(909), "cost_share": round(909 / 40_000, 6)}
    assert found["by_tier"]["platinum"]["purchases"] == 0 and found["by_tier"]["platinum"]["cost_share"] == 0
    assert found["all"]["cost"] == eur(2538) and found["all"]["members_spend"] == eur(55_000)
    accounting = json.loads(runner.invoke(args=["report", "accounting", "--from", since, "--format", "json"]).output)
    assert sum(period["redeemed"] for period in accounting["periods"]) == found["all"]["points_redeemed"] == 1100
    older = json.loads(runner.invoke(args=["report", "cost", "--from", (TODAY - timedelta(days=100)).isoformat(),
                                           "--format", "json"]).output)
    assert older["all"]["purchases"] == 4 and older["by_tier"]["standard"]["members_spend"] == eur(140_000)

    admin = make_key(runner, "admin")
    served = client.get(f"/v1/admin/reports/cost?from={since}", headers=bearer(admin))
    assert served.status_code == 200 and served.get_json() == found
    assert client.get("/v1/admin/reports/cost", headers=bearer(shop)).status_code == 403
    rows = list(csv.DictReader(io.StringIO(client.get(f"/v1/admin/reports/cost?from={since}&format=csv",
                                                      headers=bearer(admin)).get_data(as_text=True))))
    assert [row["group"] for row in rows] == ["all", "tier:standard", "tier:gold", "tier:platinum"]
    assert rows[2]["discounts_given"] == "1129" and rows[0]["cost"] == "2538"
    backwards = client.get(f"/v1/admin/reports/cost?from={TODAY}&to={since}", headers=bearer(admin))
    assert backwards.status_code == 422 and backwards.get_json()["error"]["code"] == "invalid_request"


def test_a_tier_lowered_by_the_review_counts_the_next_purchase_under_the_lower_tier(app, client, runner):
    assert deliver_shop(client, purchase(customer="c-1", order="o-1", amount=150_000, created=at(400))) == "processed"
    review_day = datetime.combine(TODAY - timedelta(days=30), time(12), tzinfo=timezone.utc)
    assert runner.invoke(args=["jobs", "run", "--now", review_day.isoformat(), "--only", "review"]).exit_code == 0
    assert deliver_shop(client, purchase(customer="c-1", order="o-2", amount=10_000, created=at(10))) == "processed"
    found = json.loads(runner.invoke(args=["report", "cost", "--from", (TODAY - timedelta(days=20)).isoformat(),
                                           "--format", "json"]).output)
    # gold from o-1, lowered to standard by the review 30 days ago: o-2 counts as standard,
    # with the 7 % that 1,500.00 of lifetime spend earns: 10,000 x 7 / 93 = 752.
    assert found["by_tier"]["gold"]["purchases"] == 0
    assert found["by_tier"]["standard"]["purchases"] == 1
    assert found["by_tier"]["standard"]["discounts_given"] == {"amount": 752, "currency": "EUR"}
