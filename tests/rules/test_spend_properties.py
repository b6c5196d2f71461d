"""Counted spend: excluded lines (gift cards) count toward neither qualifying nor lifetime spend.

An order's counted spend is its total less its excluded lines, never below 0. A purchase
adds it to both spends; a refund takes off the drop in the order's counted net
(max(0, counted - refunded): refunds come off the counted part first). Points are not
touched by any of this: an order without excluded lines behaves exactly as before.
"""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from rules.earning import counted_spend, excluded_amount, points_for
from rules.purchases import apply_purchase
from rules.refunds import apply_refund
from rules.standing import Line, OrderState, Purchase, Standing
from rules.tiers import tier_after_purchase, tier_after_refund
from tests.rules.strategies import DEFAULT, any_programme, moments, standings

AT = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
GIFT, SHOES = "gift_card", "shoes"

line_amounts = st.integers(0, 2_000_000)
lines = st.lists(st.builds(Line, amount=line_amounts, category=st.sampled_from([GIFT, SHOES, "books", None]),
                           sku=st.sampled_from([None, "G-1", "B-1"])), max_size=5)
plain_lines = st.lists(st.builds(Line, amount=line_amounts, category=st.sampled_from([SHOES, "books", None])),
                       max_size=5)


@st.composite
def purchases_with_lines(draw, line_strategy=lines, order_id="o-1", at=moments):
    """A purchase whose total is its lines' sum plus whatever the lines do not say (shipping)."""
    drawn = tuple(draw(line_strategy))
    extra = draw(st.integers(0, 1_000_000))
    total = max(1, sum(line.amount for line in drawn) + extra - draw(st.integers(0, 1_000)))
    return Purchase(order_id=order_id, at=draw(at), total=total, lines=drawn)


def gift_and_shoes(gift=100_000, shoes=20_000, at=AT):
    return Purchase("o-1", at, gift + shoes, (Line(gift, GIFT, "G-1"), Line(shoes, SHOES, "S-1")))


def old_purchase(programme, standing, purchase):
    """The standing after a purchase as it was computed before excluded lines stopped counting."""
    earning = points_for(programme, standing, purchase)
    first = standing.first_purchase_at
    counted = replace(standing, qualifying_spend=standing.qualifying_spend + purchase.total,
                      lifetime_spend=standing.lifetime_spend + purchase.total,
                      first_purchase_at=purchase.at if first is None else min(first, purchase.at),
                      points_pending=standing.points_pending + earning.total)
    change = tier_after_purchase(programme, standing, counted, purchase.at)
    return replace(counted, tier=change.tier, tier_since=change.since, tier_floor=change.floor,
                   floor_since=change.floor_since)


def old_spend_after_refund(programme, standing, order, refunded_total, at, outcome):
    """The standing after a refund as it was computed before: the refunded amount came off."""
    delta = max(order.refunded, min(refunded_total, order.total)) - order.refunded
    reduced = replace(standing, qualifying_spend=standing.qualifying_spend - delta,
                      lifetime_spend=standing.lifetime_spend - delta,
                      points_pending=standing.points_pending - outcome.from_pending,
                      points_available=standing.points_available - outcome.from_available)
    change = tier_after_refund(programme, standing, reduced, at)
    return replace(reduced, tier=change.tier, tier_since=change.since, tier_floor=change.floor,
                   floor_since=change.floor_since)


# --- examples ---------------------------------------------------------------------------

def test_a_gift_card_alone_counts_nothing_and_earns_no_base_points():
    bought = apply_purchase(DEFAULT, Standing.opening(DEFAULT), Purchase("o-1", AT, 100_000, (Line(100_000, GIFT),)))
    assert (bought.order.counted, bought.earning.points) == (0, 0)
    assert (bought.standing.qualifying_spend, bought.standing.lifetime_spend, bought.standing.tier) == (0, 0, "standard")


def test_a_gift_card_with_shoes_counts_the_shoes():
    bought = apply_purchase(DEFAULT, Standing.opening(DEFAULT), gift_and_shoes())
    assert bought.order.counted == counted_spend(DEFAULT, gift_and_shoes()) == 20_000
    assert excluded_amount(DEFAULT, gift_and_shoes()) == 100_000
    assert (bought.standing.qualifying_spend, bought.standing.lifetime_spend) == (20_000, 20_000)
    assert bought.earning.points == 200


def test_a_refund_comes_off_the_counted_part_first():
    """Refunding 200.00 of a 1,000.00 gift card + 200.00 shoes order takes all 200.00 off
    spend, not 0 (as if the gift card were refunded) and not a third of it (33.33)."""
    bought = apply_purchase(DEFAULT, Standing.opening(DEFAULT), gift_and_shoes())
    refunded = apply_refund(DEFAULT, bought.standing, bought.order, 20_000, AT + timedelta(days=1))
    assert (refunded.spend_drop, refunded.order.counted_net) == (20_000, 0)
    assert (refunded.standing.qualifying_spend, refunded.standing.lifetime_spend) == (0, 0)
    assert refunded.clawback == 200 * 20_000 // 120_000         # points: proportional to the total, as before
    rest = apply_refund(DEFAULT, refunded.standing, refunded.order, 120_000, AT + timedelta(days=2))
    assert rest.spend_drop == 0 and rest.standing.lifetime_spend == 0


def test_a_partial_refund_below_the_counted_part_takes_what_was_refunded():
    bought = apply_purchase(DEFAULT, Standing.opening(DEFAULT), gift_and_shoes())
    refunded = apply_refund(DEFAULT, bought.standing, bought.order, 5_000, AT + timedelta(days=1))
    assert refunded.spend_drop == 5_000 and refunded.standing.lifetime_spend == 15_000


def test_gift_cards_never_make_gold():
    standing = Standing.opening(DEFAULT)
    for n in range(3):
        standing = apply_purchase(DEFAULT, standing, Purchase(f"o-{n}", AT + timedelta(days=n), 100_000,
                                                              (Line(100_000, GIFT),))).standing
    assert (standing.tier, standing.lifetime_spend) == ("standard", 0)


def test_an_order_stored_before_counted_existed_counts_its_total():
    """A snapshot without `counted` reads as None: the whole total counted, as it was then."""
    order = OrderState("o-1", AT, total=120_000, points=1_200, refunded=20_000)
    assert (order.counted_spend, order.counted_net) == (120_000, 100_000)
    standing = Standing(tier="gold", qualifying_spend=120_000, lifetime_spend=120_000)
    outcome = apply_refund(DEFAULT, standing, order, 120_000, AT + timedelta(days=1))
    assert outcome.spend_drop == 100_000 and outcome.standing.lifetime_spend == 20_000


# --- properties -------------------------------------------------------------------------

@given(any_programme, purchases_with_lines())
def test_counted_spend_is_never_above_the_total_nor_below_zero(programme, purchase):
    counted = counted_spend(programme, purchase)
    assert 0 <= counted <= purchase.total
    assert counted == max(0, purchase.total - excluded_amount(programme, purchase))


@given(st.data())
def test_the_counted_spend_is_what_earns_the_base_points(data):
    """Earning and spend read the same exclusions: points are those of a purchase of the
    counted amount with no lines."""
    purchase = data.draw(purchases_with_lines())
    standing = replace(data.draw(standings(DEFAULT)), birthday=None, tier="standard", first_purchase_at=AT)
    as_counted = replace(purchase, total=counted_spend(DEFAULT, purchase), lines=())
    assert points_for(DEFAULT, standing, purchase).points == points_for(DEFAULT, standing, as_counted).points


@given(st.data())
def test_spend_is_never_negative(data):
    """Purchases with any lines and refunds of any size, all within the window: both spends
    stay at or above 0 and equal the sum of the orders' counted nets."""
    programme = data.draw(any_programme)
    standing, orders = Standing.opening(programme), {}
    start = data.draw(moments)
    for n in range(data.draw(st.integers(1, 6))):
        at = start + timedelta(days=n)
        if orders and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(sorted(orders)))
            order = orders[key]
            outcome = apply_refund(programme, standing, order, data.draw(st.integers(0, order.total + 1_000)), at)
            assert outcome.spend_drop >= 0
        else:
            purchase = data.draw(purchases_with_lines(order_id=f"o-{n}", at=st.just(at)))
            outcome = apply_purchase(programme, standing, purchase)
        standing, orders[outcome.order.order_id] = outcome.standing, outcome.order
        assert standing.qualifying_spend >= 0 and standing.lifetime_spend >= 0
        assert standing.lifetime_spend == standing.qualifying_spend == sum(o.counted_net for o in orders.values())


@given(st.data())
def test_an_order_without_excluded_lines_behaves_exactly_as_before(data):
    """Same standings as the old formula (the total added, the refunded amount taken off),
    for any lines that no exclusion matches, purchase and refunds alike."""
    programme = data.draw(any_programme)
    standing = data.draw(standings(programme))
    purchase = data.draw(purchases_with_lines(plain_lines))
    purchase = replace(purchase, at=max(purchase.at, (standing.tier_since or purchase.at) + timedelta(seconds=1)))
    bought = apply_purchase(programme, standing, purchase)
    assert bought.order.counted == purchase.total
    assert bought.standing == old_purchase(programme, standing, purchase)
    order, standing = bought.order, bought.standing
    for days, refunded_total in enumerate(sorted(data.draw(st.lists(st.integers(0, purchase.total), max_size=4)))):
        at = purchase.at + timedelta(days=days + 1)
        outcome = apply_refund(programme, standing, order, refunded_total, at)
        assert outcome.standing == old_spend_after_refund(programme, standing, order, refunded_total, at, outcome)
        assert outcome.spend_drop == outcome.refunded
        order, standing = outcome.order, outcome.standing


@given(st.data())
def test_purchase_then_full_refund_restores_spend(data):
    programme = data.draw(any_programme)
    standing = data.draw(standings(programme))
    purchase = data.draw(purchases_with_lines())
    purchase = replace(purchase, at=max(purchase.at, (standing.tier_since or purchase.at) + timedelta(seconds=1)))
    bought = apply_purchase(programme, standing, purchase)
    at = purchase.at + timedelta(seconds=data.draw(st.integers(0, 300 * 86400)))
    partial = data.draw(st.integers(0, purchase.total))
    middle = apply_refund(programme, bought.standing, bought.order, partial, at)
    undone = apply_refund(programme, middle.standing, middle.order, purchase.total, at)
    assert (undone.standing.qualifying_spend, undone.standing.lifetime_spend) == \
        (standing.qualifying_spend, standing.lifetime_spend)
    assert undone.standing.tier == standing.tier
    assert middle.spend_drop + undone.spend_drop == bought.order.counted
