"""Why a purchase earns what it earns: the purchase evaluated exactly as the applier
evaluates it (`apply_purchase`), with a trace of every rule of the programme, matched or
not and why not ("tier is standard, rule needs gold"), the tier before and after, the
standing discount and the support target. What a support agent reads out to a customer."""
from dataclasses import dataclass

from rules.conditions import line_matches, lines_named, reasons_against
from rules.currency import format_amount
from rules.discount import discount_for
from rules.purchases import PurchaseOutcome, apply_purchase
from rules.support import SupportFlags, support_flags


@dataclass(frozen=True)
class RuleTrace:
    rule: str
    kind: str           # base | bonus | fixed_bonus | exclusion
    matched: bool
    points: int
    why: str


@dataclass(frozen=True)
class Explanation:
    outcome: PurchaseOutcome
    trace: tuple
    discount_before: int        # percent, by lifetime spend before the purchase (what it was given)
    discount_after: int         # percent the next order gets
    support: SupportFlags       # after the purchase

    @property
    def points(self):
        return self.outcome.earning.total


def _credited(outcome):
    credited = {}
    for hit in outcome.earning.rules:
        credited[hit.rule] = credited.get(hit.rule, 0) + hit.points
    return credited


def _exclusions(programme, purchase, credited):
    trace, taken = [], []
    for exclusion in programme.exclusions:
        lines = [line for line in purchase.lines
                 if line_matches(line, exclusion.categories, exclusion.skus) and line not in taken]
        taken += lines
        amount = format_amount(sum(line.amount for line in lines), programme.currency)
        why = (f"{len(lines)} line(s) of {lines_named(exclusion.categories, exclusion.skus)} ({amount}) earn "
               "nothing and count as no spend" if lines
               else f"no line of {lines_named(exclusion.categories, exclusion.skus)}")
        trace.append(RuleTrace(exclusion.id, "exclusion", exclusion.id in credited, 0, why))
    return trace, sum(line.amount for line in taken)


def _bonus(programme, standing, purchase, bonus, credited, kind, eligible):
    reasons = reasons_against(bonus.when, programme, standing, purchase)
    if reasons:
        return RuleTrace(bonus.id, kind, False, 0, "; ".join(reasons))
    if kind == "fixed_bonus" and eligible == 0:
        return RuleTrace(bonus.id, kind, False, 0, "only excluded lines: money, not a purchase")
    if bonus.id not in credited:        # its order conditions hold, but no line it rewards is in the order
        return RuleTrace(bonus.id, kind, False, 0,
                         f"no line of {lines_named(bonus.when.categories, bonus.when.skus)}")
    what = (f"+{bonus.percent} % of the base" if kind == "bonus" else f"{bonus.points} points")
    if kind == "bonus" and bonus.when.on_lines:
        what += f" on lines of {lines_named(bonus.when.categories, bonus.when.skus)}"
    return RuleTrace(bonus.id, kind, True, credited[bonus.id], what)


def explain_purchase(programme, standing, purchase, manual=None):
    """The outcome of `purchase` for a customer of `standing`, with every rule's part in it."""
    outcome = apply_purchase(programme, standing, purchase)
    credited = _credited(outcome)
    trace, excluded = _exclusions(programme, purchase, credited)
    eligible = max(0, purchase.total - excluded)
    trace.append(RuleTrace("base", "base", True, credited.get("base", 0),
                           f"{programme.earn_points} point(s) per {programme.earn_per_units} whole "
                           f"{programme.currency} of {format_amount(eligible, programme.currency)}"))
    trace += [_bonus(programme, standing, purchase, bonus, credited, "bonus", eligible)
              for bonus in programme.bonuses]
    trace += [_bonus(programme, standing, purchase, bonus, credited, "fixed_bonus", eligible)
              for bonus in programme.fixed_bonuses]
    return Explanation(outcome, tuple(trace), discount_for(programme, standing.lifetime_spend)[0],
                       discount_for(programme, outcome.standing.lifetime_spend)[0],
                       support_flags(programme, outcome.standing.tier, manual, purchase.at))
