"""`evolve`: the snapshots' quick `replace`."""
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

from rules.standing import OrderState, Standing, evolve


@given(tier=st.sampled_from(["standard", "gold"]), spend=st.integers(0, 10**9), points=st.integers(-10**6, 10**6))
def test_evolve_is_replace(tier, spend, points):
    standing = Standing(tier="standard", qualifying_spend=5, points_available=7)
    changes = {"tier": tier, "qualifying_spend": spend, "points_pending": points}
    evolved = evolve(standing, **changes)
    assert evolved == replace(standing, **changes) and hash(evolved) == hash(replace(standing, **changes))
    assert standing.tier == "standard" and standing.qualifying_spend == 5          # the original is untouched
    order = OrderState("o", datetime(2026, 1, 1, tzinfo=timezone.utc), 1000, 10)
    assert evolve(order, refunded=spend) == replace(order, refunded=spend)


def test_evolve_refuses_a_name_that_is_not_a_field():
    with pytest.raises(TypeError, match="no field tiers"):
        evolve(Standing(tier="standard"), tiers="gold")
    with pytest.raises(AttributeError):
        evolve(Standing(tier="standard")).tier = "gold"            # still frozen
