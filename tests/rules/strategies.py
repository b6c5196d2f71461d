"""Hypothesis strategies for the rules engine: valid programmes, standings, purchases."""
from datetime import date, datetime, timedelta, timezone

from hypothesis import strategies as st

from rules import Purchase, Standing, load_programme, parse_programme

DEFAULT = load_programme()
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)

moments = st.integers(min_value=0, max_value=3 * 365 * 86400).map(lambda s: EPOCH + timedelta(seconds=s))
amounts = st.integers(min_value=0, max_value=10_000_000)   # up to 100,000.00
positive_amounts = st.integers(min_value=1, max_value=10_000_000)
birthdays = st.none() | st.dates(min_value=date(1930, 1, 1), max_value=date(2010, 12, 31))


@st.composite
def programmes(draw):
    """A valid programme with a random tier ladder, bonuses and discount ladder."""
    thresholds = sorted(draw(st.sets(st.integers(1, 2_000_000), max_size=3)))
    names = ["standard", "silver", "gold", "platinum"][:len(thresholds) + 1]
    tiers = [{"name": name, "from": threshold, "priority_support": i > 0,
              "first_response_hours": 14 - 4 * i}
             for i, (name, threshold) in enumerate(zip(names, [0] + thresholds))]
    bonuses = [{"id": f"tier-{t['name']}", "percent": draw(st.integers(1, 200)), "when": {"tiers": [t["name"]]}}
               for t in tiers[1:]]
    if draw(st.booleans()):
        bonuses.append({"id": "birthday", "percent": draw(st.integers(1, 200)), "when": {"birthday_month": True}})
    steps = sorted(draw(st.sets(st.integers(1, 1_000_000), max_size=4)))
    percents = sorted(draw(st.lists(st.integers(0, 30), min_size=len(steps), max_size=len(steps))))
    document = {
        "version": "generated", "currency": draw(st.sampled_from(["EUR", "JPY", "KWD", "USD"])),
        "earning": {"points": draw(st.integers(1, 3)), "per_units": draw(st.sampled_from([1, 1, 10]))},
        "bonuses": bonuses,
        "fixed_bonuses": [{"id": "welcome", "points": draw(st.integers(1, 500)), "when": {"first_purchase": True}}],
        "tiers": tiers,
        "discounts": [{"from": 0, "percent": 0}] + [{"from": f, "percent": p} for f, p in zip(steps, percents)],
        "redemption": {"points": 100, "worth_units": 1, "minimum_points": draw(st.integers(0, 1000)),
                       "max_order_percent": draw(st.integers(1, 100))},
        "tier_policy": {"window_days": 365, "hold_days": draw(st.integers(0, 400))},
    }
    return parse_programme(document)


any_programme = st.one_of(st.just(DEFAULT), programmes())


@st.composite
def standings(draw, programme):
    """A consistent standing: its tier is at least what its spend qualifies for."""
    from rules import qualify_tier

    lifetime = draw(amounts)
    qualifying = draw(st.integers(0, lifetime))
    earned = qualify_tier(programme, qualifying)
    higher = [t.name for t in programme.tiers if t.threshold >= earned.threshold]
    tier = draw(st.sampled_from(higher))
    since = draw(moments)
    return Standing(tier=tier, tier_since=since, qualifying_spend=qualifying, lifetime_spend=lifetime,
                    first_purchase_at=draw(st.none() | moments), birthday=draw(birthdays),
                    points_pending=draw(st.integers(0, 100_000)), points_available=draw(st.integers(0, 100_000)))


def purchases(total=positive_amounts):
    return st.builds(Purchase, order_id=st.just("o-1"), at=moments, total=total)


def opening(programme, birthday=None):
    return Standing.opening(programme, birthday=birthday)
