"""The tier mix over time: how many customers held each tier at each month's end, and how
many moves up and down each month made.

A customer's tier history is the tier after each change, by time (the tier after each
purchase and refund, and what each review set). Before its first change, an enrolled
customer holds the lowest tier. A move up or down is a change to a higher or lower tier
than the one held just before."""
from bisect import bisect_right


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
    where the one before ends. Equal to `tier_mix` over all the customers. The moments
    need only compare with each other: datetimes, or whole microseconds since 1970 as the
    tiers report gives them.

    One pass over each history, none over the months per customer: a change is seen at
    the ends of the months from the first that ends after it (found by bisection), so a
    customer adds one to a tier from the month it starts holding it and takes one off from
    the month it stops, and the counts are summed month by month at the end."""
    lowest = programme.lowest_tier.name
    ranked = {tier.name: (position, tier.name) for position, tier in enumerate(programme.tiers)}
    unknown = (0, lowest)           # a tier since removed (or none) counts as the lowest
    starts, ends = [start for _, start, _ in months], [end for _, _, end in months]
    last = len(months)
    taken = {name: [0] * (last + 1) for name in ranked}     # customers starting (+) or ending (-) a tier
    up, down = [0] * last, [0] * last
    for customer, since in enrolled.items():
        counted = bisect_right(ends, since)         # the first month whose end counts the customer
        if counted == last:
            continue
        held, held_rank, held_from = lowest, 0, counted
        for moment, tier in sorted(changes.get(customer, ())):
            month = bisect_right(ends, moment)      # the first month whose end sees the change
            if month == last:
                break
            rank, tier = ranked.get(tier, unknown)
            if tier == held:
                continue
            if month >= counted:
                if moment >= starts[month]:
                    (up if rank > held_rank else down)[month] += 1
                if month > held_from:
                    taken[held][held_from] += 1
                    taken[held][month] -= 1
                    held_from = month
            held, held_rank = tier, rank
        taken[held][held_from] += 1
    rows, holding = [], dict.fromkeys(ranked, 0)
    for number, ((label, _, _), count) in enumerate(zip(months, lowest_by_month_end)):
        for name in ranked:
            holding[name] += taken[name][number]
        tiers = dict(holding)
        tiers[lowest] += count
        rows.append({"month": label, "tiers": tiers, "up": up[number], "down": down[number]})
    return rows
