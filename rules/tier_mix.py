"""The tier mix over time: how many customers held each tier at each month's end, and how
many moves up and down each month made.

A customer's tier history is the tier after each change, by time (the tier after each
purchase and refund, and what each review set). Before its first change, an enrolled
customer holds the lowest tier. A move up or down is a change to a higher or lower tier
than the one held just before."""


def tier_mix(programme, changes, enrolled, months):
    """`changes`: {customer: [(moment, tier after), ...]} in any order; `enrolled`: {customer:
    moment enrolled}; `months`: [(label, first moment, first moment of the next month)].
    Answers [{"month", "tiers": {name: customers}, "up", "down"}], a row a month."""
    lowest = programme.lowest_tier.name
    rows = [{"month": label, "tiers": {tier.name: 0 for tier in programme.tiers}, "up": 0, "down": 0}
            for label, _, _ in months]
    for customer, since in enrolled.items():
        history = sorted(changes.get(customer, ()))
        for row, (_, start, end) in zip(rows, months):
            if since >= end:
                continue
            held, before = lowest, []
            for moment, tier in history:
                if moment >= end:
                    break
                before.append((moment, held, tier))
                held = tier
            row["tiers"][programme.tier(held).name] += 1
            for moment, previous, tier in before:
                if moment >= start:
                    step = programme.rank(tier) - programme.rank(previous)
                    row["up" if step > 0 else "down"] += step != 0
    return rows
