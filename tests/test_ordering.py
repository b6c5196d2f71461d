"""Order of arrival never matters: late purchases take their place, refunds may come first."""
import time

from loyalty.models import ParkedRefund
from tests import state
from tests.webhooks import deliver_shop, post_shop, purchase, refund, status_of

DAY = 86400


def run(app_factory, database_url, events):
    """Deliver `events` to a fresh app on the same database; answer the end state of c-42."""
    app = app_factory(database_url)
    client = app.test_client()
    for event in events:
        assert deliver_shop(client, event) in ("processed", "parked")
    return state.customer(app, "c-42") | {"tier_since": None}, state.ledger_sum(app, "c-42")


def reset(app):
    from loyalty.extensions import db
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


def test_a_refund_before_its_purchase_is_parked_and_applied_when_the_purchase_comes(app, client):
    now = int(time.time())
    early = refund(amount=5000, created=now)
    assert deliver_shop(client, early) == "parked"
    assert state.count(app, ParkedRefund) == 1 and state.customer(app, "c-42") is None
    deliver_shop(client, purchase(amount=12999, created=now - 60))
    assert state.count(app, ParkedRefund) == 0
    assert state.customer(app, "c-42")["pending"] == 229 - 49
    assert state.order(app, "o-9")["refunded"] == 5000
    assert status_of(app, "shop", early["id"]) == "processed"      # no longer waiting


def test_a_refund_and_its_purchase_in_one_batch_apply_in_business_time(app, client):
    now = int(time.time())
    post_shop(client, refund(amount=5000, created=now))
    post_shop(client, purchase(amount=12999, created=now - 60))
    from tests.webhooks import apply_queued
    assert apply_queued(app) == 2
    assert state.count(app, ParkedRefund) == 0
    assert state.customer(app, "c-42")["pending"] == 229 - 49


def test_several_parked_refunds_of_a_late_purchase_end_as_if_delivered_in_order(app_factory, database_url):
    """Two partial refunds parked, then their purchase arrives late (after a newer purchase):
    each refund must start from the state the one before left (found by the stateful test)."""
    now = int(time.time())
    newer = purchase(order="o-1", amount=1_000, created=now - 30)
    late = purchase(order="o-2", amount=3_700, created=now - 300)
    first, second = (refund(order="o-2", refund_id=f"r-{n}", amount=amount, created=now - 200 + n)
                     for n, amount in ((1, 99), (2, 1_234)))
    in_order = run(app_factory, database_url, [late, first, second, newer])
    reset(app_factory(database_url))
    parked_first = run(app_factory, database_url, [newer, first, second, late])
    assert parked_first == in_order
    assert in_order[0]["pending"] == in_order[1]["pending"] == 10 + 37 + 100 - 1 - 12    # 100: welcome bonus


def test_a_parked_refund_counts_once_even_when_redelivered(app, client):
    now = int(time.time())
    deliver_shop(client, refund(refund_id="r-1", amount=5000, created=now))
    assert deliver_shop(client, refund(refund_id="r-1", amount=5000, created=now)) == "duplicate"
    deliver_shop(client, purchase(amount=12999, created=now - 60))
    assert state.order(app, "o-9")["refunded"] == 5000


def test_a_late_first_purchase_takes_the_welcome_and_lifts_the_rate_of_later_ones(app, app_factory, database_url):
    now = int(time.time())
    early = purchase(order="early", amount=100_000, created=now - 3 * DAY)   # makes gold
    late = purchase(order="late", amount=10_000, created=now - DAY)          # earns at gold
    in_order = run(app_factory, database_url, [early, late])
    reset(app)
    reordered = run(app_factory, database_url, [late, early])
    assert reordered == in_order
    assert in_order[0]["pending"] == 1000 + 100 + 125 and in_order[0]["tier"] == "gold"
    assert state.order(app, "late")["points"] == 125 and state.order(app, "late")["fixed"] == 0
    assert state.order(app, "early")["fixed"] == 100
    kinds = [kind for kind, _, _ in state.entries(app, "c-42")]
    assert kinds.count("correction") >= 1 and "earn" in kinds


def test_refunds_and_purchases_in_any_order_end_the_same(app, app_factory, database_url):
    now = int(time.time())
    events = [purchase(order="a", amount=100_000, created=now - 5 * DAY),
              purchase(order="b", amount=20_000, created=now - 4 * DAY),
              refund(order="a", refund_id="ra", amount=30_000, created=now - 3 * DAY),
              purchase(order="c", amount=50_000, created=now - 2 * DAY),
              refund(order="b", refund_id="rb", amount=20_000, created=now - DAY)]
    expected = run(app_factory, database_url, events)
    for order in ([4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 3, 0, 4, 2]):
        reset(app)
        assert run(app_factory, database_url, [events[i] for i in order]) == expected, order


def test_a_late_purchase_replays_later_ones_with_spend_aged_out_as_live(app, client):
    """A year-old purchase arriving after a recent one: the replay gives the recent purchase
    the qualifying spend of its own moment, in which the old one has aged out (gold, not
    platinum), exactly as in-order delivery does."""
    day = 24 * 3600
    old = purchase(customer="c-late", order="o-old", amount=310_000, created=int(time.time()) - 400 * day)
    recent = purchase(customer="c-late", order="o-new", amount=310_000, created=int(time.time()) - 13 * day)
    assert deliver_shop(client, recent) == "processed"
    assert deliver_shop(client, old) == "processed"
    late = state.customer(app, "c-late")
    assert late["tier"] == "gold" and late["lifetime_spend"] == 620_000
    in_order = purchase(customer="c-order", order="o-old-2", amount=310_000, created=old["created"])
    assert deliver_shop(client, in_order) == "processed"
    assert deliver_shop(client, purchase(customer="c-order", order="o-new-2", amount=310_000,
                                         created=recent["created"])) == "processed"
    expected = state.customer(app, "c-order")
    assert (late["tier"], late["tier_since"], late["pending"], late["available"]) == \
        (expected["tier"], expected["tier_since"], expected["pending"], expected["available"])
