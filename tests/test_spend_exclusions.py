"""Excluded lines count toward neither qualifying nor lifetime spend, through the real path:
signed shop webhooks, the worker's batch applier, the balance API, on both backends.

A gift card is money, not a purchase (programme.md): a 1,000.00 gift card earns no points
and makes nobody gold; the spend it stands for counts when it pays for a purchase. A
refund takes off spend the drop in the order's counted net (refunds come off the counted
part first). Order of arrival never matters, gift cards included.
"""
import time

from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import SpendBucket, TimelineEvent
from tests import state
from tests.api import bearer, make_key
from tests.webhooks import deliver_shop, purchase, refund

DAY = 86400
GIFT_CARD = {"sku": "GC-1000", "category": "gift_card", "quantity": 1, "amount": {"amount": 100_000, "currency": "EUR"}}
SHOES = {"sku": "SH-1", "category": "shoes", "quantity": 1, "amount": {"amount": 20_000, "currency": "EUR"}}


def line(amount, category, sku="X-1"):
    return {"sku": sku, "category": category, "quantity": 1, "amount": {"amount": amount, "currency": "EUR"}}


def balance(app, customer="c-42"):
    client = app.test_client()
    key = make_key(app.test_cli_runner(), "shop")
    response = client.get(f"/v1/customers/{customer}/balance", headers=bearer(key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def spend_of(found):
    return found["tier"]["name"], found["qualifying_spend"]["amount"], found["lifetime_spend"]["amount"], \
        found["discount_percent"]


def buckets(app, customer="c-42"):
    """The customer's spend buckets with something in them (day -> amount)."""
    with app.app_context():
        rows = db.session.execute(select(SpendBucket.day, SpendBucket.amount)
                                  .where(SpendBucket.customer_id == customer)).all()
        db.session.remove()
    return {day: amount for day, amount in rows if amount}


def _booked(app, order_key):
    """The order's state as the batch applier reads it (its counted amount from its snapshot)."""
    from loyalty.applier import reading
    from loyalty.models import Order
    with app.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.order_key == order_key))
        booked = reading.orders(db.session, {order_id})[order_id].booked
        db.session.remove()
    return booked


def test_a_gift_card_alone_earns_nothing_and_counts_for_no_spend(app, client):
    gift = purchase(order="o-gift", amount=100_000, lines=[GIFT_CARD], created=int(time.time()) - 60)
    assert deliver_shop(client, gift) == "processed"
    assert state.order(app, "o-gift")["points"] == 0
    assert state.entries(app, "c-42") == []         # no earn entry, and no welcome: not a purchase
    found = balance(app)
    assert spend_of(found) == ("standard", 0, 0, 0)
    assert found["points"]["pending"] == 0
    assert buckets(app) == {}
    # The first purchase is still to come: the next real one takes the welcome bonus.
    assert deliver_shop(client, purchase(order="o-shoes", amount=5_000, created=int(time.time()) - 30)) \
        == "processed"
    assert balance(app)["points"]["pending"] == 50 + 100


def test_a_gift_card_with_shoes_counts_the_shoes_and_a_refund_of_them_takes_it_all_back(app, client):
    now = int(time.time())
    bought = purchase(order="o-mixed", amount=120_000, lines=[GIFT_CARD, SHOES], created=now - 120)
    assert deliver_shop(client, bought) == "processed"
    assert state.order(app, "o-mixed")["points"] == 200
    found = balance(app)
    assert spend_of(found) == ("standard", 20_000, 20_000, 3)
    assert found["points"]["pending"] == 200 + 100
    assert _booked(app, "o-mixed").counted == 20_000
    assert deliver_shop(client, refund(order="o-mixed", refund_id="r-shoes", amount=20_000,
                                       created=now - 60)) == "processed"
    found = balance(app)
    assert spend_of(found) == ("standard", 0, 0, 0)
    assert found["points"]["pending"] == 300 - 200 * 20_000 // 120_000       # points: proportional, as before
    assert sum(buckets(app).values()) == 0
    assert deliver_shop(client, refund(order="o-mixed", refund_id="r-rest", amount=100_000,
                                       created=now - 30)) == "processed"
    assert spend_of(balance(app)) == ("standard", 0, 0, 0)
    assert state.customer(app, "c-42")["pending"] == 0


def test_a_thousand_in_gift_cards_never_makes_gold(app, client):
    now = int(time.time())
    for n in range(2):
        card = line(50_000, "gift_card", f"GC-{n}")
        assert deliver_shop(client, purchase(order=f"o-card-{n}", amount=50_000, lines=[card],
                                             created=now - 300 + n)) == "processed"
    assert spend_of(balance(app)) == ("standard", 0, 0, 0)
    big = purchase(order="o-big", amount=100_000, lines=[GIFT_CARD], created=now - 200)
    assert deliver_shop(client, big) == "processed"
    assert deliver_shop(client, purchase(order="o-real", amount=5_000, created=now - 100)) == "processed"
    found = balance(app)
    assert spend_of(found) == ("standard", 5_000, 5_000, 0)
    assert found["tier"]["next"]["spend_needed"]["amount"] == 100_000 - 5_000
    assert state.order(app, "o-real")["points"] == 50          # earned at the standard rate


def _end_state(app):
    found = balance(app)
    return found, state.customer(app, "c-42"), state.ledger_sum(app, "c-42"), buckets(app)


def _run(app_factory, database_url, events):
    app = app_factory(database_url)
    client = app.test_client()
    for event in events:
        assert deliver_shop(client, event) in ("processed", "parked")
    return app, _end_state(app)


def _reset(app):
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        db.session.remove()


def test_a_late_purchase_with_a_gift_card_ends_as_in_order_arrival(app, app_factory, database_url):
    """The gift card + shoes order arrives after the later purchases: they are replayed with
    the spend of their moment (200.00 from it, not 1,200.00: no gold rate for the second),
    and every order of arrival ends in the same balance, ledger sums and spend buckets."""
    now = int(time.time())
    events = [purchase(order="a", amount=120_000, lines=[GIFT_CARD, SHOES], created=now - 5 * DAY),
              purchase(order="b", amount=70_000, created=now - 4 * DAY),
              purchase(order="c", amount=15_000, lines=[line(5_000, "gift_card", "GC-50")], created=now - 2 * DAY)]
    first, expected = _run(app_factory, database_url, events)
    found, _, _, days = expected
    assert spend_of(found) == ("gold", 100_000, 100_000, 7)       # c lifts to gold: 200 + 700 + 100
    assert state.order(first, "b")["points"] == 700                # b earned at the standard rate
    assert sum(days.values()) == 100_000
    for order in ([1, 2, 0], [2, 0, 1], [2, 1, 0]):
        _reset(app)
        assert _run(app_factory, database_url, [events[i] for i in order])[1] == expected, order


def test_refunds_of_orders_with_gift_cards_end_the_same_in_any_order(app, app_factory, database_url):
    now = int(time.time())
    events = [purchase(order="a", amount=120_000, lines=[GIFT_CARD, SHOES], created=now - 5 * DAY),
              purchase(order="b", amount=90_000, created=now - 4 * DAY),
              refund(order="a", refund_id="ra", amount=20_000, created=now - 3 * DAY),
              purchase(order="c", amount=15_000, created=now - 2 * DAY)]
    _, expected = _run(app_factory, database_url, events)
    # gold from b (200.00 + 900.00), standard again at the refund (900.00), gold again from c
    assert spend_of(expected[0]) == ("gold", 105_000, 105_000, 7)
    for order in ([3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]):
        _reset(app)
        assert _run(app_factory, database_url, [events[i] for i in order])[1] == expected, order


def _as_stored_before_counted(app, customer="c-42"):
    """Make the customer's history look as stored before excluded lines stopped counting: no
    `counted` in the order snapshots, every order's total in the spend buckets and lifetime."""
    from loyalty.models import Customer, Order
    with app.app_context():
        for row in db.session.scalars(select(TimelineEvent).where(TimelineEvent.customer_id == customer)):
            row.order_after = {key: value for key, value in row.order_after.items() if key != "counted"}
            row.standing_after = {**row.standing_after, "lifetime_spend": 120_000, "qualifying_spend": 120_000,
                                  "tier": "gold"}
            row.tier = "gold"
        for order in db.session.scalars(select(Order).where(Order.customer_id == customer)):
            bucket = db.session.get(SpendBucket, (customer, order.placed_at.date()))
            bucket.amount = order.total
        stored = db.session.get(Customer, customer)
        stored.lifetime_spend, stored.tier = 120_000, "gold"
        db.session.commit()
        db.session.remove()


def test_an_order_stored_before_the_change_counts_its_total_until_it_is_re_evaluated(app, client):
    """A refund on an order whose snapshots have no `counted` takes off what was refunded, as
    it was counted then; a late purchase before it replays it and corrects its spend."""
    now = int(time.time())
    deliver_shop(client, purchase(order="old", amount=120_000, lines=[GIFT_CARD, SHOES], created=now - 5 * DAY))
    _as_stored_before_counted(app)
    assert spend_of(balance(app)) == ("gold", 120_000, 120_000, 7)
    assert _booked(app, "old").counted is None and _booked(app, "old").counted_spend == 120_000
    assert deliver_shop(client, refund(order="old", refund_id="r-1", amount=20_000,
                                       created=now - 4 * DAY)) == "processed"
    assert spend_of(balance(app)) == ("gold", 100_000, 100_000, 7)    # the whole total counted, as then
    assert deliver_shop(client, purchase(order="late", amount=3_000, created=now - 6 * DAY)) == "processed"
    assert spend_of(balance(app)) == ("standard", 3_000, 3_000, 0)    # replayed: the gift card no longer counts
    assert sum(buckets(app).values()) == 3_000
    with app.app_context():
        snapshots = db.session.scalars(select(TimelineEvent.order_after)).all()
        db.session.remove()
    assert {snapshot["order_id"]: snapshot["counted"] for snapshot in snapshots} == {"old": 20_000, "late": 3_000}
