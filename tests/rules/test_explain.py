"""Why a purchase earns what it earns: the conditions in words, the trace of every rule, and
the versions in force over time."""
import copy
import tomllib
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from rules import Line, Purchase, Standing, apply_purchase, parse_programme
from rules.conditions import holds, reasons_against
from rules.explain import explain_purchase
from rules.loading import DEFAULT_PATH
from rules.programme import Condition
from rules.versions import BEGINNING, ProgrammeBook

DOCUMENT = tomllib.loads(DEFAULT_PATH.read_text())
AT = datetime(2026, 12, 10, 12, tzinfo=timezone.utc)
REGULAR = Standing(tier="standard", first_purchase_at=datetime(2020, 1, 1, tzinfo=timezone.utc))


def programme(*bonuses, fixed=(), **top):
    document = copy.deepcopy(DOCUMENT)
    document["bonuses"] += list(bonuses)
    document["fixed_bonuses"] += list(fixed)
    document.update(top)
    return parse_programme(document)


DEFAULT = programme()


def trace_of(prog, total, lines=(), standing=REGULAR, at=AT):
    explained = explain_purchase(prog, standing, Purchase("o", at, total, tuple(lines)))
    return explained, {step.rule: step for step in explained.trace}


conditions = st.builds(
    Condition, tiers=st.frozensets(st.sampled_from(["standard", "gold", "platinum"]), max_size=2),
    birthday_month=st.booleans(), first_purchase=st.booleans(), order_total_at_least=st.integers(0, 20_000),
    from_date=st.none() | st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    until_date=st.none() | st.dates(date(2026, 1, 1), date(2027, 12, 31)))
standings = st.builds(Standing, tier=st.sampled_from(["standard", "gold", "platinum"]),
                      first_purchase_at=st.none() | st.just(datetime(2026, 6, 1, tzinfo=timezone.utc)),
                      birthday=st.none() | st.dates(date(1950, 1, 1), date(2010, 12, 31)))
moments = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(timezone.utc))


@given(condition=conditions, standing=standings, at=moments, total=st.integers(1, 30_000))
def test_the_reasons_are_empty_exactly_when_the_condition_holds(condition, standing, at, total):
    purchase = Purchase("o", at, total)
    assert (reasons_against(condition, DEFAULT, standing, purchase) == []) == holds(condition, DEFAULT, standing,
                                                                                   purchase)


@given(standing=standings, at=moments, total=st.integers(1, 300_000),
       lines=st.lists(st.tuples(st.sampled_from(["gift_card", "shoes", None]), st.integers(1, 10_000)), max_size=3))
def test_the_trace_adds_up_to_what_the_purchase_earns(standing, at, total, lines):
    prog = programme({"id": "shoes", "percent": 30, "when": {"categories": ["shoes"]}})
    lines = tuple(Line(amount, category) for category, amount in lines)
    explained, _ = trace_of(prog, total, lines, standing, at)
    outcome = apply_purchase(prog, standing, Purchase("o", at, total, lines))
    assert explained.outcome == outcome
    assert sum(step.points for step in explained.trace) == outcome.earning.total == explained.points
    assert all(step.points == 0 for step in explained.trace if not step.matched)
    assert [step.rule for step in explained.trace] == (
        [e.id for e in prog.exclusions] + ["base"] + [b.id for b in prog.bonuses] + [b.id for b in prog.fixed_bonuses])


def test_each_reason_in_words():
    _, steps = trace_of(DEFAULT, 10_000)
    assert steps["tier-gold"].why == "tier is standard, rule needs gold"
    assert steps["birthday-month"].why == "no birthday on record"
    assert steps["welcome"].why == "not the first purchase (the first was on 2020-01-01)"
    assert steps["gift-cards"].why == "no line of category gift_card or gift_cards" and not steps["gift-cards"].matched
    assert steps["base"].points == 100 and steps["base"].matched
    _, steps = trace_of(DEFAULT, 10_000, standing=Standing(tier="gold", birthday=date(1990, 5, 17)))
    assert steps["birthday-month"].why == "purchase is in December, birthday is in May"
    assert steps["tier-gold"].matched and steps["tier-gold"].points == 25 and steps["tier-gold"].why == "+25 % of the base"
    assert steps["welcome"].matched and steps["welcome"].why == "100 points"


def test_dates_totals_and_lines_in_words():
    prog = programme({"id": "winter", "percent": 10, "when": {"from": "2027-01-01", "until": "2027-01-31"}},
                     {"id": "autumn", "percent": 10, "when": {"until": "2026-11-30"}},
                     {"id": "big", "percent": 10, "when": {"order_total_at_least": 20_000}},
                     {"id": "shoes", "percent": 10, "when": {"categories": ["shoes"], "skus": ["SKU-1"]}})
    explained, steps = trace_of(prog, 15_000, [Line(5_000, "gift_card"), Line(2_000, "books")])
    assert steps["winter"].why == "purchase on 2026-12-10 is before 2027-01-01"
    assert steps["autumn"].why == "purchase on 2026-12-10 is after 2026-11-30"
    assert steps["big"].why == "order total 150.00 EUR is below 200.00 EUR"
    assert steps["shoes"].why == "no line of category shoes or SKU SKU-1"
    assert steps["gift-cards"].matched and "50.00 EUR" in steps["gift-cards"].why
    assert steps["base"].points == 100 and "100.00 EUR" in steps["base"].why
    _, steps = trace_of(prog, 15_000, [Line(4_000, "shoes")])
    assert steps["shoes"].matched and steps["shoes"].why == "+10 % of the base on lines of category shoes or SKU SKU-1"


def test_tier_discount_and_support_before_and_after():
    explained, _ = trace_of(DEFAULT, 120_000, standing=Standing(tier="standard", lifetime_spend=25_000))
    assert (explained.outcome.standing.tier, explained.discount_before, explained.discount_after) == ("gold", 3, 7)
    assert explained.support.priority and explained.support.response_target_hours == 2


def _version(label, gold_percent):
    document = copy.deepcopy(DOCUMENT)
    document["version"] = label
    document["bonuses"][0]["percent"] = gold_percent
    return parse_programme(document)


def test_the_version_in_force_at_each_moment():
    first, second, third = _version("v1", 25), _version("v2", 50), _version("v3", 75)
    second_from, third_from = AT, AT + timedelta(days=30)
    book = ProgrammeBook.of([(third_from, third), (datetime(2000, 1, 1, tzinfo=timezone.utc), first),
                             (second_from, second)])
    assert book.starts[0] == BEGINNING                   # the earliest counts from the beginning
    assert book.at(datetime(1999, 1, 1, tzinfo=timezone.utc)) is first
    assert book.at(AT - timedelta(microseconds=1)) is first
    assert book.at(AT) is second and book.at(third_from - timedelta(seconds=1)) is second
    assert book.at(third_from) is third and book.at(datetime(2100, 1, 1, tzinfo=timezone.utc)) is third
    assert book.next_change(AT - timedelta(days=1)) == AT and book.next_change(third_from) is None
    assert ProgrammeBook.single(first).at(AT) is first
    assert book.widest_window_days() == 365
    with pytest.raises(ValueError):
        ProgrammeBook.of([])


def test_an_order_of_excluded_lines_alone_is_not_a_purchase():
    new = Standing(tier="standard")
    explained, steps = trace_of(DEFAULT, 10_000, [Line(10_000, "gift_card")], standing=new)
    assert explained.points == 0
    assert steps["welcome"] == steps["welcome"].__class__("welcome", "fixed_bonus", False, 0,
                                                         "only excluded lines: money, not a purchase")
    assert explained.outcome.standing.first_purchase_at is None          # the first purchase is still to come
    after = explained.outcome.standing
    _, steps = trace_of(DEFAULT, 5_000, standing=after, at=AT + timedelta(days=1))
    assert steps["welcome"].matched and steps["welcome"].points == 100


def test_a_new_ladder_moves_up_at_once_drops_removed_tiers_and_keeps_raised_ones():
    from rules.tiers import tier_under_version

    document = copy.deepcopy(DOCUMENT)
    document["tiers"] = [{"name": "standard", "from": 0, "priority_support": False, "first_response_hours": 14},
                         {"name": "silver", "from": 50_000, "priority_support": False, "first_response_hours": 8},
                         {"name": "gold", "from": 200_000, "priority_support": True, "first_response_hours": 2}]
    document["support"]["manual_priority_tier"] = "gold"
    document["bonuses"] = [bonus for bonus in document["bonuses"] if bonus["id"] != "tier-platinum"]
    ladder = parse_programme(document)
    since = datetime(2026, 1, 1, tzinfo=timezone.utc)
    up = tier_under_version(ladder, Standing(tier="standard", qualifying_spend=60_000), AT)
    assert (up.tier, up.since, up.changed) == ("silver", AT, True)
    kept = tier_under_version(ladder, Standing(tier="gold", tier_since=since, qualifying_spend=150_000), AT)
    assert (kept.tier, kept.since, kept.changed) == ("gold", since, False)     # a raised threshold: the review's
    removed = tier_under_version(ladder, Standing(tier="platinum", qualifying_spend=60_000, tier_floor="platinum",
                                                  floor_since=since), AT)
    assert (removed.tier, removed.changed, removed.floor, removed.floor_since) == ("silver", True, None, None)
    at_review = parse_programme({**document, "tier_policy": {**document["tier_policy"], "upgrade": "at_review"}})
    assert not tier_under_version(at_review, Standing(tier="standard", qualifying_spend=60_000), AT).changed
