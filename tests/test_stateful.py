"""A stateful hypothesis test of the one write path: webhooks recorded, the worker's batch
applier in the loop.

Random purchases (some with a gift card line, which earns nothing and counts for no
spend), partial and full refunds, duplicate deliveries, the same order under a
new event id, and deliveries held back (so they arrive out of order) go through the Flask
test client and wait in the inbox; a `work` step applies what is queued, so batches mix
customers, duplicates, reordering and late events. After every step the stored state is
checked against a reference model: the pure rules engine applied to the applied events in
business-time order. Cached balances must equal the ledger, a re-delivery must change
nothing, and a fully refunded customer is back where they started.
"""
import time

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from sqlalchemy import select

from loyalty.extensions import db
from loyalty.models import SpendBucket, TimelineEvent
from loyalty.programme import current_programme
from rules import Line, Purchase, Standing, apply_purchase, apply_refund
from tests import state
from tests.webhooks import apply_queued, post_shop, purchase, refund, status_of

CUSTOMERS = ("c-1", "c-2")
NOW = int(time.time())


def reference(programme, delivered):
    """Per customer: (pending points, tier, lifetime spend) from the engine, in business-time order."""
    purchases = {e["data"]["order"]["id"]: e for e in delivered if e["type"] == "purchase.completed"}
    standings, orders = {}, {}
    for e in sorted(delivered, key=lambda e: e["created"]):
        order_id = e["data"]["order"]["id"]
        if order_id not in purchases:
            continue                                   # parked: its purchase has not arrived
        customer = purchases[order_id]["data"]["customer"]["id"]
        standing = standings.get(customer) or Standing.opening(programme)
        at = _time(e["created"])
        if e["type"] == "purchase.completed":
            order = e["data"]["order"]
            lines = tuple(Line(line["amount"]["amount"], line["category"], line["sku"]) for line in order["lines"])
            outcome = apply_purchase(programme, standing, Purchase(order_id, at, order["total"]["amount"], lines))
        else:
            order = orders[order_id]
            outcome = apply_refund(programme, standing, order, order.refunded + e["data"]["refund"]["amount"]["amount"], at)
        standings[customer], orders[order_id] = outcome.standing, outcome.order
    return {c: (s.points_pending, s.tier, s.lifetime_spend) for c, s in standings.items()}


def _time(seconds):
    from datetime import datetime, timezone
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


class Webhooks(RuleBasedStateMachine):
    app = None

    def __init__(self):
        super().__init__()
        with self.app.app_context():
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
            self.programme = current_programme()
        self.client = self.app.test_client()
        self.delivered, self.queued, self.held, self.orders, self.used_times = [], [], [], {}, set()
        self.refunds, self.reported_again = 0, set()

    def _unique_time(self, wanted):
        while wanted in self.used_times:
            wanted += 1
        self.used_times.add(wanted)
        return wanted

    def _send(self, event, hold):
        if hold:
            self.held.append(event)
            return
        response = post_shop(self.client, event)
        assert response.status_code == 202, response.get_json()
        assert response.get_json()["status"] == "accepted"
        self.queued.append(event)

    @precondition(lambda self: self.queued)
    @rule()
    def work(self):
        assert apply_queued(self.app) == len(self.queued)
        self.delivered += self.queued
        bought = {e["data"]["order"]["id"] for e in self.delivered if e["type"] == "purchase.completed"}
        for event in self.queued:
            expected = "parked" if event["data"]["order"]["id"] not in bought else "processed"
            assert status_of(self.app, "shop", event["id"]) in (expected, "processed"), event
        self.queued = []

    @rule(customer=st.sampled_from(CUSTOMERS), amount=st.integers(1, 300_000),
          days_ago=st.integers(1, 60 * 86400), hold=st.booleans(), data=st.data())
    def buy(self, customer, amount, days_ago, hold, data):
        order = f"o-{len(self.orders) + 1}"
        created = self._unique_time(NOW - 90 * 86400 + days_ago)
        self.orders[order] = {"total": amount, "refunded": 0, "created": created}
        gift = data.draw(st.just(0) | st.integers(0, amount), label="gift card")
        lines = [{"sku": "GC-1", "category": "gift_card", "quantity": 1,
                  "amount": {"amount": gift, "currency": "EUR"}}] if gift else []
        self._send(purchase(customer=customer, order=order, amount=amount, created=created, lines=lines), hold)

    @precondition(lambda self: any(o["refunded"] < o["total"] for o in self.orders.values()))
    @rule(data=st.data(), full=st.booleans(), hold=st.booleans())
    def refund_some(self, data, full, hold):
        order_id = data.draw(st.sampled_from(sorted(k for k, o in self.orders.items() if o["refunded"] < o["total"])))
        order = self.orders[order_id]
        left = order["total"] - order["refunded"]
        amount = left if full else data.draw(st.integers(1, left))
        order["refunded"] += amount
        created = self._unique_time(order["created"] + data.draw(st.integers(1, 20 * 86400)))
        self.refunds += 1
        self._send(refund(order=order_id, refund_id=f"r-{self.refunds}", amount=amount,
                          created=created), hold)

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def deliver_late(self, data):
        event = self.held.pop(data.draw(st.integers(0, len(self.held) - 1)))
        self._send(event, hold=False)

    @precondition(lambda self: self.delivered or self.queued)
    @rule(data=st.data())
    def deliver_again(self, data):
        event = data.draw(st.sampled_from(self.delivered + self.queued))
        before = [state.entries(self.app, c) for c in CUSTOMERS]
        response = post_shop(self.client, event)
        assert response.status_code == 200 and response.get_json() == {"status": "duplicate"}
        assert [state.entries(self.app, c) for c in CUSTOMERS] == before

    @precondition(lambda self: not self.queued and any(e["type"] == "purchase.completed" for e in self.delivered))
    @rule(data=st.data())
    def report_again_under_a_new_event_id(self, data):
        """Another event for an order already counted (Stripe's session and payment intent)."""
        event = data.draw(st.sampled_from([e for e in self.delivered if e["type"] == "purchase.completed"]))
        again = {**event, "id": event["id"] + "-again"}
        if again["id"] in self.reported_again:
            return
        self.reported_again.add(again["id"])
        before = [state.entries(self.app, c) for c in CUSTOMERS]
        assert post_shop(self.client, again).status_code == 202
        apply_queued(self.app)
        assert status_of(self.app, "shop", again["id"]) == "duplicate"
        assert [state.entries(self.app, c) for c in CUSTOMERS] == before

    @invariant()
    def matches_the_reference_model(self):
        expected = reference(self.programme, self.delivered)
        for customer in CUSTOMERS:
            stored = state.customer(self.app, customer)
            if customer not in expected:
                assert stored is None or stored["pending"] == 0
                continue
            assert (stored["pending"], stored["tier"], stored["lifetime_spend"]) == expected[customer]
            assert state.ledger_sum(self.app, customer) == {"pending": stored["pending"],
                                                            "available": stored["available"]}

    @invariant()
    def spend_buckets_add_up_to_lifetime_spend(self):
        """Every step is within the window, so the buckets (qualifying spend) hold exactly the
        counted spend the model's lifetime spend does, replays included."""
        expected = reference(self.programme, self.delivered)
        with self.app.app_context():
            rows = db.session.execute(select(SpendBucket.customer_id, SpendBucket.amount)).all()
            db.session.remove()
        for customer in CUSTOMERS:
            stored = sum(amount for owner, amount in rows if owner == customer)
            assert stored == (expected[customer][2] if customer in expected else 0)

    @invariant()
    def the_timeline_tier_column_is_its_snapshots(self):
        """The column the tiers report reads equals the snapshot it copies, replays included."""
        with self.app.app_context():
            rows = db.session.execute(select(TimelineEvent.tier, TimelineEvent.standing_after)).all()
            db.session.remove()
        assert all(tier == snapshot["tier"] for tier, snapshot in rows)

    @invariant()
    def fully_refunded_customers_are_back_at_the_start(self):
        for customer in CUSTOMERS:
            mine = [e["data"]["order"]["id"] for e in self.delivered
                    if e["type"] == "purchase.completed" and e["data"]["customer"]["id"] == customer]
            refunded = {e["data"]["order"]["id"]: 0 for e in self.delivered if e["type"] == "purchase.refunded"}
            for e in self.delivered:
                if e["type"] == "purchase.refunded":
                    refunded[e["data"]["order"]["id"]] += e["data"]["refund"]["amount"]["amount"]
            if mine and all(refunded.get(o, 0) >= self.orders[o]["total"] for o in mine):
                stored = state.customer(self.app, customer)
                assert (stored["pending"], stored["available"], stored["tier"], stored["lifetime_spend"]) == \
                    (0, 0, "standard", 0)


def test_webhooks_against_a_reference_model(app):
    machine = type("WebhooksOn" + app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].title(), (Webhooks,), {"app": app})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=30, stateful_step_count=40, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
