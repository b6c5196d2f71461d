"""Loading a programme document: every value checked once, at load time, with an error
that names its exact place (`tiers[1].from: must be above tiers[0].from`), so a bad
programme never reaches a customer's purchase."""
import json
import re
import tomllib
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules import currency
from rules.programme import (BirthdayGift, Bonus, Condition, DiscountStep, Exclusion, FixedBonus, Notices,
                             Programme, Redemption, Tier, TierPolicy)

DEFAULT_PATH = Path(__file__).with_name("default_programme.toml")
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MISSING = object()


class ProgrammeError(ValueError):
    """A programme that cannot be used; `problems` lists every `place: what is wrong`."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("invalid programme:\n  " + "\n  ".join(self.problems))


class _Reader:
    """Reads one table of the document, noting each problem with its place."""

    def __init__(self, data, place, problems):
        self.data, self.place, self.problems = data, place, problems
        self.seen = set()

    def at(self, key):
        return f"{self.place}.{key}" if self.place else key

    def fail(self, key, message):
        self.problems.append(f"{self.at(key)}: {message}")

    def get(self, key, default=MISSING):
        self.seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is MISSING:
            self.fail(key, "is required")
        return default

    def integer(self, key, default=MISSING, minimum=None, maximum=None):
        value = self.get(key, default)
        if value is MISSING or value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be a whole number, not {type(value).__name__} {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.fail(key, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            self.fail(key, f"must be at most {maximum}")
        return value

    def text(self, key, default=MISSING, pattern=None, choices=None):
        value = self.get(key, default)
        if value is MISSING or value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "must be a non-empty string")
            return None
        if pattern is not None and not pattern.match(value):
            self.fail(key, f"{value!r} is not a valid name ({pattern.pattern})")
        if choices is not None and value not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def flag(self, key, default=False):
        value = self.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
            return False
        return value

    def day(self, key):
        value = self.get(key, None)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        elif isinstance(value, date) and not hasattr(value, "hour"):
            return value
        self.fail(key, "must be a date (YYYY-MM-DD)")
        return None

    def names(self, key):
        value = self.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(key, "must be a list of non-empty strings")
            return frozenset()
        return frozenset(value)

    def table(self, key, default=MISSING):
        value = self.get(key, default)
        if value is MISSING or value is None:
            return None
        if not isinstance(value, dict):
            self.fail(key, "must be a table")
            return None
        return _Reader(value, self.at(key), self.problems)

    def tables(self, key, required=False):
        value = self.get(key, MISSING if required else [])
        if value is MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(key, "must be a list of tables")
            return []
        return [_Reader(item, f"{self.at(key)}[{i}]", self.problems) for i, item in enumerate(value)]

    def done(self):
        for key in sorted(set(self.data) - self.seen, key=str):
            self.fail(key, "is not a known setting")


def _condition(reader, tiers, allow_lines=True):
    if reader is None:
        return Condition()
    condition = Condition(
        tiers=reader.names("tiers"), birthday_month=reader.flag("birthday_month"),
        first_purchase=reader.flag("first_purchase"),
        order_total_at_least=reader.integer("order_total_at_least", 0, minimum=0),
        from_date=reader.day("from"), until_date=reader.day("until"),
        categories=reader.names("categories"), skus=reader.names("skus"))
    for name in sorted(condition.tiers - tiers):
        reader.fail("tiers", f"names unknown tier {name!r}")
    if condition.from_date and condition.until_date and condition.until_date < condition.from_date:
        reader.fail("until", "must not be before from")
    if condition.on_lines and not allow_lines:
        reader.fail("categories" if condition.categories else "skus",
                    "fixed bonuses apply to whole orders, not to lines")
    reader.done()
    return condition


def _tiers(doc):
    tiers = []
    for i, r in enumerate(doc.tables("tiers", required=True)):
        tier = Tier(r.text("name", pattern=NAME), r.integer("from", minimum=0),
                    r.flag("priority_support"), r.integer("first_response_hours", minimum=1))
        r.done()
        if i == 0 and tier.threshold not in (None, 0):
            r.fail("from", "the first tier must start at 0")
        if i and None not in (tier.threshold, tiers[-1].threshold) and tier.threshold <= tiers[-1].threshold:
            r.fail("from", f"must be above tiers[{i - 1}].from")
        if tier.name and tier.name in {t.name for t in tiers}:
            r.fail("name", f"{tier.name!r} is used by another tier")
        tiers.append(tier)
    if not tiers and "tiers" in doc.data:
        doc.fail("tiers", "must list at least one tier")
    return tuple(tiers)


def _discounts(doc):
    steps = []
    for i, r in enumerate(doc.tables("discounts")):
        step = DiscountStep(r.integer("from", minimum=0), r.integer("percent", minimum=0, maximum=100))
        r.done()
        previous = steps[-1] if steps else None
        if i == 0 and step.threshold not in (None, 0):
            r.fail("from", "the first step must start at 0")
        if previous and None not in (step.threshold, previous.threshold) and step.threshold <= previous.threshold:
            r.fail("from", f"must be above discounts[{i - 1}].from")
        if previous and None not in (step.percent, previous.percent) and step.percent < previous.percent:
            r.fail("percent", f"must not be below discounts[{i - 1}].percent (a discount never falls as spend grows)")
        steps.append(step)
    return tuple(steps) or (DiscountStep(0, 0),)


def _rules(doc, tier_names):
    ids = set()

    def rule_id(r):
        value = r.text("id", pattern=RULE_ID)
        if value in ids:
            r.fail("id", f"{value!r} is used by another rule")
        ids.add(value)
        return value

    bonuses = []
    for r in doc.tables("bonuses"):
        bonuses.append(Bonus(rule_id(r), r.integer("percent", minimum=1, maximum=10000),
                             _condition(r.table("when", None), tier_names)))
        r.done()
    fixed = []
    for r in doc.tables("fixed_bonuses"):
        fixed.append(FixedBonus(rule_id(r), r.integer("points", minimum=1, maximum=1_000_000),
                                _condition(r.table("when", None), tier_names, allow_lines=False)))
        r.done()
    exclusions = []
    for r in doc.tables("exclusions"):
        exclusion = Exclusion(rule_id(r), r.names("categories"), r.names("skus"))
        if not (exclusion.categories or exclusion.skus):
            r.fail("categories", "an exclusion must name categories or skus")
        exclusions.append(exclusion)
        r.done()
    return tuple(bonuses), tuple(fixed), tuple(exclusions)


def _notices(doc, problems):
    r = doc.table("notices", {}) or _Reader({}, "notices", problems)
    leads = r.get("expiring_days", list(Notices.expiring_days))
    if not isinstance(leads, list):
        r.fail("expiring_days", "must be a list of whole numbers")
        leads = []
    expiring = set()
    for i, value in enumerate(leads):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
            r.fail(f"expiring_days[{i}]", f"must be a whole number from 1 to 3650, not {value!r}")
        elif value in expiring:
            r.fail(f"expiring_days[{i}]", f"{value} is listed more than once")
        else:
            expiring.add(value)
    downgrade_days = r.integer("downgrade_days", Notices.downgrade_days, minimum=1, maximum=3650)
    if r.data.get("downgrade_days", 0) is None:     # a JSON null
        r.fail("downgrade_days", "must be a whole number, not null")
    r.done()
    notices = Notices(tuple(sorted(expiring, reverse=True)), downgrade_days)
    return notices


def _birthday_gift(doc, rule_ids):
    """`[birthday_gift]`: absent (or a JSON null), no gift."""
    r = doc.table("birthday_gift", None)
    if r is None:
        return None
    rule_id = r.text("id", pattern=RULE_ID)
    if rule_id is not None and rule_id in rule_ids:
        r.fail("id", f"{rule_id!r} is used by another rule")
    gift = BirthdayGift(rule_id, r.integer("points", minimum=1, maximum=1_000_000),
                        r.integer("recent_change_days", BirthdayGift.recent_change_days, minimum=0, maximum=3650))
    if r.data.get("recent_change_days", 0) is None:     # a JSON null
        r.fail("recent_change_days", "must be a whole number, not null")
    r.done()
    return gift


def parse_programme(data):
    """Build a Programme from a parsed document, or raise ProgrammeError listing every problem."""
    problems = []
    if not isinstance(data, dict):
        raise ProgrammeError(["(document): must be a table"])
    doc = _Reader(data, "", problems)
    version = doc.text("version")
    code = doc.text("currency", "EUR")
    if code is not None and not currency.is_code(code):
        doc.fail("currency", f"must be an upper-case ISO 4217 code, not {code!r}")
    zone = doc.text("timezone", "UTC")
    try:
        ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        doc.fail("timezone", f"unknown time zone {zone!r}")
    tiers = _tiers(doc)
    tier_names = {t.name for t in tiers}

    earning = doc.table("earning") or _Reader({}, "earning", problems)
    earn_points = earning.integer("points", minimum=1, maximum=1000)
    earn_per_units = earning.integer("per_units", minimum=1, maximum=1_000_000)
    earning.done()
    bonuses, fixed, exclusions = _rules(doc, tier_names)

    points = doc.table("points", {}) or _Reader({}, "points", problems)
    pending_days = points.integer("pending_days", 14, minimum=0, maximum=365)
    expiry_days = points.integer("expiry_days", 365, minimum=1, maximum=36500)
    points.done()

    policy = doc.table("tier_policy", {}) or _Reader({}, "tier_policy", problems)
    tier_policy = TierPolicy(
        metric=policy.text("metric", "qualifying_spend", choices=("qualifying_spend", "lifetime_spend")),
        window_days=policy.integer("window_days", 365, minimum=1, maximum=3650),
        hold_days=policy.integer("hold_days", 365, minimum=0, maximum=3650),
        upgrade=policy.text("upgrade", "immediate", choices=("immediate", "at_review")),
        refund=policy.text("refund", "immediate", choices=("immediate", "at_review")))
    policy.done()

    discounts = _discounts(doc)
    r = doc.table("redemption") or _Reader({}, "redemption", problems)
    redemption = Redemption(r.integer("points", minimum=1, maximum=1_000_000),
                            r.integer("worth_units", minimum=1, maximum=1_000_000),
                            r.integer("minimum_points", 0, minimum=0),
                            r.integer("max_order_percent", 100, minimum=1, maximum=100))
    r.done()

    support = doc.table("support", {}) or _Reader({}, "support", problems)
    goodwill_cap = support.integer("goodwill_cap", 1000, minimum=0)
    manual_tier = support.text("manual_priority_tier", None)
    if tiers and manual_tier is None:
        manual_tier = next((t.name for t in tiers if t.priority_support), tiers[-1].name)
    elif manual_tier is not None and manual_tier not in tier_names:
        support.fail("manual_priority_tier", f"names unknown tier {manual_tier!r}")
    support.done()
    notices = _notices(doc, problems)
    birthday_gift = _birthday_gift(doc, {rule.id for rule in (*bonuses, *fixed, *exclusions)})
    doc.done()
    if problems:
        raise ProgrammeError(problems)
    return Programme(
        version=version, currency=code, timezone=zone, earn_points=earn_points,
        earn_per_units=earn_per_units, bonuses=bonuses, fixed_bonuses=fixed, exclusions=exclusions,
        pending_days=pending_days, expiry_days=expiry_days, tier_policy=tier_policy, tiers=tiers,
        discounts=discounts, redemption=redemption, goodwill_cap=goodwill_cap,
        manual_priority_tier=manual_tier, notices=notices, birthday_gift=birthday_gift)


def loads_programme(text, fmt="toml"):
    """Parse programme text (TOML or JSON)."""
    try:
        data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ProgrammeError([f"(document): not valid {fmt.upper()}: {error}"]) from None
    return parse_programme(data)


def load_programme(path=None):
    """Load a programme file (`.toml` or `.json`); the shipped default when `path` is None."""
    path = Path(path) if path else DEFAULT_PATH
    fmt = "json" if path.suffix.lower() == ".json" else "toml"
    return loads_programme(path.read_text(encoding="utf-8"), fmt)
