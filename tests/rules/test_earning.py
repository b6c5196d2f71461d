"""Every rule kind an operator can use, on a programme built for the purpose."""
import copy
import tomllib
from datetime import date, datetime, timezone

import pytest

from rules import Line, Purchase, Standing, parse_programme, points_for
from rules.loading import DEFAULT_PATH

DOCUMENT = tomllib.loads(DEFAULT_PATH.read_text())
AT = datetime(2026, 12, 10, 12, tzinfo=timezone.utc)
REGULAR = Standing(tier="standard", first_purchase_at=datetime(2020, 1, 1, tzinfo=timezone.utc))


def programme(*bonuses, fixed=(), exclusions=None, **top):
    document = copy.deepcopy(DOCUMENT)
    document["bonuses"] += list(bonuses)
    document["fixed_bonuses"] += list(fixed)
    if exclusions is not None:
        document["exclusions"] = exclusions
    document.update(top)
    return parse_programme(document)


def earned(prog, total, lines=(), standing=REGULAR, at=AT):
    earning = points_for(prog, standing, Purchase("o", at, total, tuple(lines)))
    return earning.points, {hit.rule: hit.points for hit in earning.rules}


def test_base_rate_is_per_whole_currency_unit_of_each_currency():
    assert earned(programme(), 12_999)[0] == 129                       # EUR: 2 decimals
    assert earned(programme(currency="JPY"), 12_999)[0] == 12_999      # JPY: 1000 means 1000 yen
    assert earned(programme(currency="KWD"), 12_999)[0] == 12          # KWD: 3 decimals
    assert earned(programme(earning={"points": 1, "per_units": 10}), 12_999)[0] == 12   # 1 per 10.00
    assert earned(programme(earning={"points": 3, "per_units": 1}), 12_999)[0] == 389


def test_order_total_at_least():
    big = programme({"id": "big-basket", "percent": 50, "when": {"order_total_at_least": 10_000}})
    assert earned(big, 9_999) == (99, {"base": 99})
    assert earned(big, 10_000) == (150, {"base": 100, "big-basket": 50})


def test_promotion_date_window_is_inclusive_in_the_programme_time_zone():
    xmas = programme({"id": "xmas", "percent": 100, "when": {"from": "2026-12-01", "until": "2026-12-24"}},
                     timezone="Europe/Paris")
    assert earned(xmas, 1_000, at=datetime(2026, 12, 24, 22, 59, tzinfo=timezone.utc))[0] == 20   # 23:59 Paris
    assert earned(xmas, 1_000, at=datetime(2026, 12, 24, 23, 0, tzinfo=timezone.utc))[0] == 10    # 25th in Paris
    assert earned(xmas, 1_000, at=datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc))[0] == 20    # 1st in Paris
    assert earned(xmas, 1_000, at=datetime(2026, 11, 30, 22, 59, tzinfo=timezone.utc))[0] == 10


def test_first_purchase_percentage_bonus():
    first = programme({"id": "first-double", "percent": 100, "when": {"first_purchase": True}})
    assert earned(first, 1_000, standing=Standing.opening(first))[1]["first-double"] == 10
    assert "first-double" not in earned(first, 1_000)[1]


def test_category_and_sku_bonuses_apply_to_their_lines_only():
    books = programme({"id": "books", "percent": 100, "when": {"categories": ["books"]}},
                      {"id": "sku-b1", "percent": 50, "when": {"skus": ["B-1"]}})
    lines = [Line(5_000, "books", "B-1"), Line(3_000, "books", "B-2"), Line(2_000, "toys", "T-1")]
    points, hits = earned(books, 10_000, lines)
    assert hits == {"base": 100, "books": 80, "sku-b1": 25}
    assert points == 205


def test_line_bonuses_never_reward_more_than_the_order_total():
    books = programme({"id": "books", "percent": 100, "when": {"categories": ["books"]}})
    # lines add up to more than was paid (an order-level coupon): the bonus stops at the total
    assert earned(books, 1_000, [Line(5_000, "books")])[0] == 20


def test_exclusions_earn_nothing_and_no_bonus_rewards_them():
    gifts = programme({"id": "gifts-bonus", "percent": 100, "when": {"categories": ["gift_card"]}},
                      exclusions=[{"id": "gift-cards", "categories": ["gift_card"]},
                                  {"id": "sku-x", "skus": ["X-1", "B-1"]}])
    lines = [Line(5_000, "gift_card", "G-1"), Line(1_000, "books", "X-1"), Line(4_000, "books", "B-2")]
    points, hits = earned(gifts, 10_000, lines)
    assert points == 40
    assert hits == {"gift-cards": 0, "sku-x": 0, "base": 40}


def test_a_line_matched_by_two_exclusions_is_taken_out_once():
    both = programme(exclusions=[{"id": "by-category", "categories": ["gift_card"]},
                                 {"id": "by-sku", "skus": ["G-1"]}])
    points, hits = earned(both, 10_000, [Line(5_000, "gift_card", "G-1"), Line(5_000, "books", "B-1")])
    assert points == 50 and hits == {"by-category": 0, "base": 50}


def test_an_order_of_only_excluded_lines_earns_nothing():
    assert earned(programme(), 5_000, [Line(6_000, "gift_card")]) == (0, {"gift-cards": 0, "base": 0})


def test_fixed_bonuses_with_conditions():
    campaign = programme(fixed=[{"id": "big-spender", "points": 250,
                                 "when": {"order_total_at_least": 50_000, "tiers": ["gold"]}}])
    gold = Standing(tier="gold", first_purchase_at=REGULAR.first_purchase_at)
    assert points_for(campaign, gold, Purchase("o", AT, 50_000)).fixed_points == 250
    assert points_for(campaign, gold, Purchase("o", AT, 49_999)).fixed_points == 0
    assert points_for(campaign, REGULAR, Purchase("o", AT, 50_000)).fixed_points == 0


@pytest.mark.parametrize("birthday, points", [(None, 100), (date(1990, 12, 31), 200), (date(1990, 1, 10), 100)])
def test_birthday_month(birthday, points):
    assert earned(programme(), 10_000, standing=Standing(tier="standard", birthday=birthday,
                                                        first_purchase_at=AT))[0] == points


def test_explanation_credits_each_rule_and_names_the_version():
    earning = points_for(programme(), Standing(tier="gold", birthday=date(1990, 12, 1)), Purchase("o", AT, 12_999))
    assert [hit.rule for hit in earning.rules] == ["base", "tier-gold", "birthday-month", "welcome"]
    assert sum(hit.points for hit in earning.rules) == earning.total == 292 + 100
    assert earning.programme_version == DOCUMENT["version"]


@pytest.mark.parametrize("amount, code, text", [(12_999, "EUR", "129.99 EUR"), (5, "EUR", "0.05 EUR"),
                                                (1_000, "JPY", "1000 JPY"), (-1_234, "KWD", "-1.234 KWD")])
def test_amounts_are_written_exactly_for_people(amount, code, text):
    from rules.currency import format_amount
    assert format_amount(amount, code) == text
