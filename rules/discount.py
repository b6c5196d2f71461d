"""The cumulative discount: a standing percentage off every order that grows with
lifetime spend (0 %, then 3 % from 200.00, 5 % from 500.00, 7 % from 1,000.00 and
10 % from 3,000.00 by default). It never falls as lifetime spend grows."""
from rules.standing import RuleHit


def discount_for(programme, lifetime_spend):
    """The discount percent earned by `lifetime_spend`, with the ladder step behind it."""
    step = [step for step in programme.discounts if lifetime_spend >= step.threshold][-1]
    return step.percent, RuleHit(step.rule_id, 0)


def discount_amount(percent, order_total):
    """The discount on an order, rounded down to the minor unit (the shop never gives more)."""
    return order_total * percent // 100


def discount_given(percent, paid):
    """The standing discount a purchase was given, worked back from what was paid: the shop
    takes `percent` off the order (as `discount_amount` quotes it) and reports the rest as
    the total, so the discount is paid x percent / (100 - percent), rounded down. That is
    never less than the discount quoted on the order, and (for discounts up to 50 %) at most
    one minor unit more: a cost report errs on the side of the shop's money."""
    return paid * percent // (100 - percent) if percent < 100 else 0
