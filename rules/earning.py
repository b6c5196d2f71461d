"""Earning points on a purchase.

The base rate gives `points` per `per_units` whole currency units of the order (1 point
per 1.00 by default: 129.99 earns 129). Bonuses add percentages of the base (gold +25 %,
platinum +50 %, birthday month +100 %), all added up before one rounding down:
points = floor(amount x total percent / 100 / unit). The tier that counts is the one the
customer held before this purchase. Excluded lines (gift cards) earn nothing and count
toward neither qualifying nor lifetime spend (`counted_spend`); a bonus on a category or
SKU adds its percentage on those lines only. Fixed bonuses (the welcome
bonus on a first purchase) come on top, pending with the purchase.
"""
from dataclasses import dataclass

from rules import currency
from rules.calendar import available_on
from rules.conditions import holds, line_matches
from rules.standing import RuleHit


@dataclass(frozen=True)
class Earning:
    points: int          # from the base rate and percentage bonuses
    fixed_points: int    # from fixed bonuses (welcome)
    rules: tuple         # RuleHit per rule that fired, in order; their points add up
    available_on: object
    programme_version: str

    @property
    def total(self):
        return self.points + self.fixed_points


def _excluded(programme, purchase):
    """The lines no rule may reward, and the exclusion rules that took them out."""
    lines, hits = [], []
    for exclusion in programme.exclusions:
        taken = [line for line in purchase.lines
                 if line_matches(line, exclusion.categories, exclusion.skus) and line not in lines]
        if taken:
            lines.extend(taken)
            hits.append(RuleHit(exclusion.id, 0))
    return lines, hits


def _counted(purchase, excluded_lines):
    return max(0, purchase.total - sum(line.amount for line in excluded_lines))


def excluded_amount(programme, purchase):
    """The amount of the purchase's excluded lines (gift cards, by default): money, not a
    purchase, so it earns no points and counts toward neither qualifying nor lifetime spend."""
    return sum(line.amount for line in _excluded(programme, purchase)[0])


def counted_spend(programme, purchase):
    """The part of a purchase that earns points and counts as spend: its total less its
    excluded lines, never below 0."""
    return _counted(purchase, _excluded(programme, purchase)[0])


def points_for(programme, standing, purchase):
    """The points a purchase earns for a customer of this standing, with the rules behind them."""
    excluded_lines, hits = _excluded(programme, purchase)
    eligible = _counted(purchase, excluded_lines)
    kept_lines = [line for line in purchase.lines if line not in excluded_lines]

    terms = [("base", eligible * 100)]
    for bonus in programme.bonuses:
        if not holds(bonus.when, programme, standing, purchase):
            continue
        amount = eligible
        if bonus.when.on_lines:
            matched = sum(line.amount for line in kept_lines
                          if line_matches(line, bonus.when.categories, bonus.when.skus))
            amount = min(eligible, matched)
        if amount > 0:
            terms.append((bonus.id, amount * bonus.percent))

    # One rounding for the whole purchase; each rule is credited the points its term adds.
    divisor = 100 * programme.earn_per_units * currency.minor_units_per_unit(programme.currency)
    numerator, credited = 0, 0
    for rule, term in terms:
        numerator += term
        points = numerator * programme.earn_points // divisor
        hits.append(RuleHit(rule, points - credited))
        credited = points

    # Fixed bonuses reward a purchase: an order of excluded lines alone (a gift card) is
    # money, not a purchase, and earns no welcome bonus.
    fixed = [RuleHit(bonus.id, bonus.points) for bonus in programme.fixed_bonuses
             if eligible > 0 and holds(bonus.when, programme, standing, purchase)]
    return Earning(points=credited, fixed_points=sum(hit.points for hit in fixed),
                   rules=tuple(hits + fixed), available_on=available_on(programme, purchase.at),
                   programme_version=programme.version)


def max_points_for(programme, total):
    """The most any purchase of `total` can earn: every percentage bonus at once, plus every fixed one."""
    percent = 100 + sum(bonus.percent for bonus in programme.bonuses)
    divisor = 100 * programme.earn_per_units * currency.minor_units_per_unit(programme.currency)
    return (total * percent * programme.earn_points // divisor
            + sum(bonus.points for bonus in programme.fixed_bonuses))
