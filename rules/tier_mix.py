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


def only_lowest(programme, history):
    """Did a customer with these changes hold the lowest tier throughout? Every change to
    the lowest tier (or to none): then it counts as the lowest each month, with no move."""
    lowest = programme.lowest_tier.name
    return all(tier is None or tier == lowest for _, tier in history)


def tier_mix_counted(programme, changes, enrolled, months, lowest_by_month_end):
    """`tier_mix` with the customers who held only the lowest tier given as counts:
    `changes` and `enrolled` for the others, `lowest_by_month_end` [customers holding only
    the lowest tier enrolled before each month's end]. `months` in order, each starting
    where the one before ends. Equal to `tier_mix` over all the customers; one pass over
    each history."""
    lowest = programme.lowest_tier.name
    rank = {tier.name: position for position, tier in enumerate(programme.tiers)}    # unknown: the lowest
    rows = [{"month": label, "tiers": {tier.name: 0 for tier in programme.tiers}, "up": 0, "down": 0}
            for label, _, _ in months]
    for row, count in zip(rows, lowest_by_month_end):
        row["tiers"][lowest] += count
    spans = [(row, start, end) for row, (_, start, end) in zip(rows, months)]
    for customer, since in enrolled.items():
        history, held, held_rank, seen = sorted(changes.get(customer, ())), lowest, 0, 0
        for row, start, end in spans:
            if since >= end:
                continue
            while seen < len(history) and history[seen][0] < end:
                moment, held = history[seen]
                step, held_rank, seen = rank.get(held, 0) - held_rank, rank.get(held, 0), seen + 1
                if moment >= start and step:
                    row["up" if step > 0 else "down"] += 1
            row["tiers"][held if held in rank else lowest] += 1
    return rows
