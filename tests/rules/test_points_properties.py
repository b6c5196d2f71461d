"""Earning and clawback arithmetic as properties."""
from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules import apply_purchase, apply_refund, clawback_for, max_points_for, points_for
from tests.rules.strategies import any_programme, positive_amounts, purchases, standings


@given(st.data())
def test_earned_points_never_exceed_what_the_highest_multipliers_allow(data):
    programme = data.draw(any_programme)
    purchase = data.draw(purchases())
    earning = points_for(programme, data.draw(standings(programme)), purchase)
    assert 0 <= earning.total <= max_points_for(programme, purchase.total)
    assert sum(hit.points for hit in earning.rules) == earning.total


@given(st.data())
def test_points_grow_with_the_amount(data):
    """The same customer buying at the same moment: more money, never fewer points. (The
    two purchases were once drawn at separate moments, which let a birthday-month bonus on
    the smaller one win.)"""
    programme = data.draw(any_programme)
    standing = data.draw(standings(programme))
    purchase = data.draw(purchases())
    low, high = sorted(data.draw(st.lists(positive_amounts, min_size=2, max_size=2)))
    points = [points_for(programme, standing, replace(purchase, total=total)).points for total in (low, high)]
    assert points[0] <= points[1]


@given(st.data())
def test_partial_refunds_add_up_to_one_refund_of_the_same_total(data):
    programme = data.draw(any_programme)
    bought = apply_purchase(programme, data.draw(standings(programme)), data.draw(purchases()))
    steps = sorted(data.draw(st.lists(st.integers(0, bought.order.total), max_size=6)))
    order, standing, taken = bought.order, bought.standing, 0
    for refunded_total in steps:
        outcome = apply_refund(programme, standing, order, refunded_total, order.placed_at + timedelta(days=1))
        order, standing, taken = outcome.order, outcome.standing, taken + outcome.clawback
        assert outcome.from_pending + outcome.from_available == outcome.clawback
    final = steps[-1] if steps else 0
    expected = bought.order.points * final // bought.order.total
    if final == bought.order.total:
        expected += bought.order.fixed_points
    assert taken == expected
    assert order.clawed_back <= bought.order.points
    assert standing.points_pending + standing.points_available == \
        bought.standing.points_pending + bought.standing.points_available - taken


@given(st.data())
def test_a_stale_or_repeated_refund_takes_nothing_more(data):
    programme = data.draw(any_programme)
    bought = apply_purchase(programme, data.draw(standings(programme)), data.draw(purchases()))
    first_total = data.draw(st.integers(0, bought.order.total))
    at = bought.order.placed_at + timedelta(days=1)
    first = apply_refund(programme, bought.standing, bought.order, first_total, at)
    stale = apply_refund(programme, first.standing, first.order, data.draw(st.integers(0, first_total)), at)
    assert (stale.clawback, stale.refunded) == (0, 0)
    assert stale.standing == first.standing


@given(st.data())
def test_pending_points_go_first(data):
    programme = data.draw(any_programme)
    bought = apply_purchase(programme, data.draw(standings(programme)), data.draw(purchases()))
    pending = data.draw(st.integers(0, bought.order.pending))
    order = replace(bought.order, pending=pending)
    outcome = apply_refund(programme, bought.standing, order, bought.order.total, order.placed_at)
    assert outcome.from_pending == min(outcome.clawback, pending)
    assert outcome.order.pending == pending - outcome.from_pending


def test_an_order_of_zero_takes_nothing_back():
    from datetime import datetime, timezone

    from rules import OrderState

    order = OrderState("o", datetime(2026, 1, 1, tzinfo=timezone.utc), total=0, points=0)
    assert clawback_for(order, 100) == 0
