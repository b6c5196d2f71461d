"""Appended rows (orders, timeline events, ledger entries) are written with Core when the
transaction commits, orders first, and dropped when it rolls back."""
from datetime import datetime, timezone

from loyalty.extensions import db
from loyalty.models import Customer, LedgerEntry, Order, TimelineEvent
from loyalty.services import appends
from tests import state

AT = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


def _queue_a_purchase(customer_id="c-1"):
    order = appends.add(Order(customer_id=customer_id, source="shop", order_key="o-1", placed_at=AT, currency="EUR",
                              total=1000, lines=[]))
    appends.add(LedgerEntry(customer_id=customer_id, order=order, kind="earn", points=10, status="pending", at=AT,
                            rules=[]))
    appends.add(TimelineEvent(customer_id=customer_id, order=order, kind="purchase", at=AT, amount=1000,
                              standing_after={}, order_after={}))
    return order


def _enrol(customer_id="c-1"):
    db.session.add(Customer(id=customer_id, points_available=0, points_pending=0, tier="standard",
                            lifetime_spend=0))
    db.session.commit()


def test_a_commit_writes_the_queued_rows_orders_first(app):
    with app.app_context():
        _enrol()
        order = _queue_a_purchase()
        queued = [order.id]                   # nothing written yet: no id
        db.session.commit()
        assert queued == [None] and order.id is not None
        entry = db.session.query(LedgerEntry).one()
        event = db.session.query(TimelineEvent).one()
        assert entry.order_id == event.order_id == order.id
        assert entry.created_at is not None and entry.reason == ""       # column defaults applied
    assert state.order(app, "o-1")["customer"] == "c-1"


def test_a_rollback_drops_the_queued_rows(app):
    with app.app_context():
        _enrol()
        _queue_a_purchase()
        db.session.rollback()
        db.session.commit()
    assert state.count(app, Order) == state.count(app, LedgerEntry) == state.count(app, TimelineEvent) == 0


def test_write_with_ids_gives_every_row_its_id(app):
    with app.app_context():
        _enrol()
        order = _queue_a_purchase()
        entry = appends.add(LedgerEntry(customer_id="c-1", order=order, kind="welcome", points=5, status="pending",
                                        at=AT, rules=[]))
        appends.write(ids=True)
        assert order.id is not None and entry.id is not None
        assert db.session.get(LedgerEntry, entry.id).points == 5
        db.session.commit()
    assert state.count(app, LedgerEntry) == 2
