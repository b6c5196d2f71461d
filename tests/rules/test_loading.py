"""Loading validates everything and names the exact place of each problem."""
import copy
import json
import tomllib

import pytest

from rules import ProgrammeError, load_programme, loads_programme, parse_programme
from rules.loading import DEFAULT_PATH

DOCUMENT = tomllib.loads(DEFAULT_PATH.read_text())


def problems_of(change):
    document = copy.deepcopy(DOCUMENT)
    change(document)
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(document)
    return caught.value.problems


def test_default_document_loads_and_json_is_the_same_programme(tmp_path):
    path = tmp_path / "programme.json"
    path.write_text(json.dumps(DOCUMENT, default=str))
    assert load_programme(path) == load_programme() == load_programme(DEFAULT_PATH)


def test_json_dates_in_conditions_are_read(tmp_path):
    document = copy.deepcopy(DOCUMENT)
    document["bonuses"].append({"id": "xmas", "percent": 10, "when": {"from": "2026-12-01", "until": "2026-12-24"}})
    path = tmp_path / "p.json"
    path.write_text(json.dumps(document))
    assert load_programme(path).bonuses[-1].when.until_date.day == 24


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["tiers"][1].update({"from": 0}), "tiers[1].from: must be above tiers[0].from"),
    (lambda d: d["tiers"][2].update({"from": 100000}), "tiers[2].from: must be above tiers[1].from"),
    (lambda d: d["tiers"][0].update({"from": 5}), "tiers[0].from: the first tier must start at 0"),
    (lambda d: d["tiers"][1].update({"name": "standard"}), "tiers[1].name: 'standard' is used by another tier"),
    (lambda d: d["tiers"][1].update({"name": "Gold Tier"}), "tiers[1].name: 'Gold Tier' is not a valid name"),
    (lambda d: d["tiers"][1].update({"from": 1000.5}), "tiers[1].from: must be a whole number, not float 1000.5"),
    (lambda d: d["tiers"][1].update({"from": True}), "tiers[1].from: must be a whole number, not bool True"),
    (lambda d: d["tiers"][1].update({"from": -1}), "tiers[1].from: must be at least 0"),
    (lambda d: d["tiers"][1].update({"priority_support": "yes"}), "tiers[1].priority_support: must be true or false"),
    (lambda d: d["tiers"][1].pop("first_response_hours"), "tiers[1].first_response_hours: is required"),
    (lambda d: d["tiers"][1].update({"colour": "gold"}), "tiers[1].colour: is not a known setting"),
    (lambda d: d.update({"tiers": []}), "tiers: must list at least one tier"),
    (lambda d: d.update({"tiers": "gold"}), "tiers: must be a list of tables"),
    (lambda d: d.pop("tiers"), "tiers: is required"),
    (lambda d: d.pop("version"), "version: is required"),
    (lambda d: d.update({"version": " "}), "version: must be a non-empty string"),
    (lambda d: d.update({"currency": "eur"}), "currency: must be an upper-case ISO 4217 code, not 'eur'"),
    (lambda d: d.update({"timezone": "Mars/Olympus"}), "timezone: unknown time zone 'Mars/Olympus'"),
    (lambda d: d.update({"mystery": 1}), "mystery: is not a known setting"),
    (lambda d: d["earning"].update({"points": 0}), "earning.points: must be at least 1"),
    (lambda d: d.pop("earning"), "earning: is required"),
    (lambda d: d.update({"earning": 5}), "earning: must be a table"),
    (lambda d: d["bonuses"][0].update({"percent": 0}), "bonuses[0].percent: must be at least 1"),
    (lambda d: d["bonuses"][1].update({"id": "tier-gold"}), "bonuses[1].id: 'tier-gold' is used by another rule"),
    (lambda d: d["bonuses"][0].update({"id": "has space"}), "bonuses[0].id: 'has space' is not a valid name"),
    (lambda d: d["bonuses"][0]["when"].update({"tiers": ["diamond"]}), "bonuses[0].when.tiers: names unknown tier 'diamond'"),
    (lambda d: d["bonuses"][0]["when"].update({"tiers": "gold"}), "bonuses[0].when.tiers: must be a list of non-empty strings"),
    (lambda d: d["bonuses"][0]["when"].update({"weekday": "monday"}), "bonuses[0].when.weekday: is not a known setting"),
    (lambda d: d["bonuses"][0]["when"].update({"from": "2026-13-01"}), "bonuses[0].when.from: must be a date (YYYY-MM-DD)"),
    (lambda d: d["bonuses"][0]["when"].update({"from": "2026-12-24", "until": "2026-12-01"}),
     "bonuses[0].when.until: must not be before from"),
    (lambda d: d["bonuses"][0]["when"].update({"order_total_at_least": -5}),
     "bonuses[0].when.order_total_at_least: must be at least 0"),
    (lambda d: d["bonuses"][0].update({"when": [1]}), "bonuses[0].when: must be a table"),
    (lambda d: d["fixed_bonuses"][0]["when"].update({"categories": ["books"]}),
     "fixed_bonuses[0].when.categories: fixed bonuses apply to whole orders, not to lines"),
    (lambda d: d["fixed_bonuses"][0]["when"].update({"skus": ["B-1"]}),
     "fixed_bonuses[0].when.skus: fixed bonuses apply to whole orders, not to lines"),
    (lambda d: d["fixed_bonuses"][0].update({"points": 0}), "fixed_bonuses[0].points: must be at least 1"),
    (lambda d: d["exclusions"][0].update({"categories": []}),
     "exclusions[0].categories: an exclusion must name categories or skus"),
    (lambda d: d["points"].update({"pending_days": -1}), "points.pending_days: must be at least 0"),
    (lambda d: d["points"].update({"expiry_days": 0}), "points.expiry_days: must be at least 1"),
    (lambda d: d["tier_policy"].update({"metric": "visits"}),
     "tier_policy.metric: must be one of qualifying_spend, lifetime_spend, not 'visits'"),
    (lambda d: d["tier_policy"].update({"upgrade": "never"}),
     "tier_policy.upgrade: must be one of immediate, at_review, not 'never'"),
    (lambda d: d["discounts"][1].update({"from": 0}), "discounts[1].from: must be above discounts[0].from"),
    (lambda d: d["discounts"][0].update({"from": 1}), "discounts[0].from: the first step must start at 0"),
    (lambda d: d["discounts"][2].update({"percent": 1}),
     "discounts[2].percent: must not be below discounts[1].percent (a discount never falls as spend grows)"),
    (lambda d: d["discounts"][4].update({"percent": 101}), "discounts[4].percent: must be at most 100"),
    (lambda d: d["redemption"].update({"max_order_percent": 0}), "redemption.max_order_percent: must be at least 1"),
    (lambda d: d["support"].update({"manual_priority_tier": "vip"}),
     "support.manual_priority_tier: names unknown tier 'vip'"),
    (lambda d: d["support"].update({"goodwill_cap": -1}), "support.goodwill_cap: must be at least 0"),
    (lambda d: d.update({"birthday_gift": 250}), "birthday_gift: must be a table"),
    (lambda d: d.update({"birthday_gift": {"points": 250}}), "birthday_gift.id: is required"),
    (lambda d: d.update({"birthday_gift": {"id": "birthday-gift"}}), "birthday_gift.points: is required"),
    (lambda d: d.update({"birthday_gift": {"id": "birthday-gift", "points": 0}}),
     "birthday_gift.points: must be at least 1"),
    (lambda d: d.update({"birthday_gift": {"id": "birthday-gift", "points": 2.5}}),
     "birthday_gift.points: must be a whole number, not float 2.5"),
    (lambda d: d.update({"birthday_gift": {"id": "birthday-gift", "points": 1_000_001}}),
     "birthday_gift.points: must be at most 1000000"),
    (lambda d: d.update({"birthday_gift": {"id": "a gift", "points": 250}}),
     "birthday_gift.id: 'a gift' is not a valid name"),
    (lambda d: d.update({"birthday_gift": {"id": "welcome", "points": 250}}),
     "birthday_gift.id: 'welcome' is used by another rule"),
    (lambda d: d.update({"birthday_gift": {"id": "birthday-gift", "points": 250, "recent_change_days": -1}}),
     "birthday_gift.recent_change_days: must be at least 0"),
    (lambda d: d.update({"birthday_gift": {"id": "birthday-gift", "points": 250, "recent_change_days": 3651}}),
     "birthday_gift.recent_change_days: must be at most 3650"),
    (lambda d: d.update({"birthday_gift": {"id": "birthday-gift", "points": 250, "recent_change_days": None}}),
     "birthday_gift.recent_change_days: must be a whole number, not null"),
    (lambda d: d.update({"birthday_gift": {"id": "birthday-gift", "points": 250, "every": "year"}}),
     "birthday_gift.every: is not a known setting"),
])
def test_each_problem_is_named_with_its_place(change, expected):
    problems = problems_of(change)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_at_once():
    def two_faults(d):
        d["tiers"][1]["from"] = 0
        d["earning"]["points"] = 0

    problems = problems_of(two_faults)
    assert "tiers[1].from: must be above tiers[0].from" in problems
    assert "earning.points: must be at least 1" in problems
    assert "tiers[1].from" in str(ProgrammeError(problems))


def test_a_document_that_is_not_a_table_or_not_toml_is_refused():
    with pytest.raises(ProgrammeError, match=r"\(document\): must be a table"):
        parse_programme([1, 2])
    with pytest.raises(ProgrammeError, match="not valid TOML"):
        loads_programme("version = ")
    with pytest.raises(ProgrammeError, match="not valid JSON"):
        loads_programme("{", "json")


def test_omitted_optional_sections_take_their_defaults():
    document = {"version": "min", "earning": {"points": 1, "per_units": 1},
                "tiers": [{"name": "member", "from": 0, "first_response_hours": 24}],
                "redemption": {"points": 100, "worth_units": 1}}
    programme = parse_programme(document)
    assert (programme.currency, programme.timezone, programme.pending_days, programme.expiry_days) == \
        ("EUR", "UTC", 14, 365)
    assert programme.discounts[0].percent == 0 and programme.goodwill_cap == 1000
    assert programme.manual_priority_tier == "member"     # no priority tier: the top one
    assert programme.tier_policy.hold_days == 365


def test_an_unknown_stored_tier_name_counts_as_the_lowest():
    programme = load_programme()
    assert programme.tier("retired-tier").name == "standard"


def test_toml_dates_are_read_and_date_times_refused():
    base = DEFAULT_PATH.read_text()
    good = base + '\n[[bonuses]]\nid = "xmas"\npercent = 10\nwhen = { from = 2026-12-01, until = 2026-12-24 }\n'
    assert loads_programme(good).bonuses[-1].when.from_date.month == 12
    bad = base + '\n[[bonuses]]\nid = "xmas"\npercent = 10\nwhen = { from = 2026-12-01T10:00:00Z }\n'
    with pytest.raises(ProgrammeError, match=r"bonuses\[3\]\.when\.from: must be a date"):
        loads_programme(bad)


def test_the_birthday_gift_is_off_by_default_and_on_with_its_table(tmp_path):
    from rules.programme import BirthdayGift
    assert load_programme().birthday_gift is None
    text = DEFAULT_PATH.read_text()
    assert "\n# [birthday_gift]\n" in text            # the default shows how, commented out
    on = loads_programme(text + '\n[birthday_gift]\nid = "birthday-gift"\npoints = 250\n')
    assert on.birthday_gift == BirthdayGift("birthday-gift", 250, 30)
    document = copy.deepcopy(DOCUMENT)
    document["birthday_gift"] = {"id": "bday", "points": 1, "recent_change_days": 0}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(document, default=str))
    assert load_programme(path).birthday_gift == BirthdayGift("bday", 1, 0)
    document["birthday_gift"] = None                        # a JSON null: off
    assert parse_programme(document).birthday_gift is None
