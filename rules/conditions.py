"""When a rule applies: each condition of a bonus checked against a customer's standing and
a purchase, with the reason in words when it does not hold ("tier is standard, rule needs
gold"). Earning decides with these; a simulation reads the reasons out."""
from calendar import month_name

from rules.calendar import local_date
from rules.currency import format_amount


def line_matches(line, categories, skus):
    return (line.category in categories) or (line.sku in skus)


def _listed(names):
    return " or ".join(sorted(names))


def reasons_against(condition, programme, standing, purchase):
    """Why `condition` does not hold for this purchase, one reason per failed part; empty
    when it holds. Line conditions (categories, SKUs) are not order conditions: see
    `lines_against`."""
    day = local_date(programme, purchase.at)
    reasons = []
    if condition.tiers and standing.tier not in condition.tiers:
        reasons.append(f"tier is {standing.tier}, rule needs {_listed(condition.tiers)}")
    if condition.birthday_month:
        if standing.birthday is None:
            reasons.append("no birthday on record")
        elif standing.birthday.month != day.month:
            reasons.append(f"purchase is in {month_name[day.month]}, birthday is in "
                           f"{month_name[standing.birthday.month]}")
    if condition.first_purchase and not standing.is_first_purchase(purchase.at):
        reasons.append(f"not the first purchase (the first was on {local_date(programme, standing.first_purchase_at)})")
    if purchase.total < condition.order_total_at_least:
        reasons.append(f"order total {format_amount(purchase.total, programme.currency)} is below "
                       f"{format_amount(condition.order_total_at_least, programme.currency)}")
    if condition.from_date is not None and day < condition.from_date:
        reasons.append(f"purchase on {day} is before {condition.from_date}")
    if condition.until_date is not None and day > condition.until_date:
        reasons.append(f"purchase on {day} is after {condition.until_date}")
    return reasons


def holds(condition, programme, standing, purchase):
    """Does `condition` hold? The quick answer earning asks for every bonus of every purchase;
    `reasons_against` is empty exactly when it holds (a property test keeps them together)."""
    day = local_date(programme, purchase.at)
    birthday = standing.birthday
    return ((not condition.tiers or standing.tier in condition.tiers)
            and (not condition.birthday_month or (birthday is not None and birthday.month == day.month))
            and (not condition.first_purchase or standing.is_first_purchase(purchase.at))
            and purchase.total >= condition.order_total_at_least
            and (condition.from_date is None or day >= condition.from_date)
            and (condition.until_date is None or day <= condition.until_date))


def lines_named(categories, skus):
    parts = ([f"category {_listed(categories)}"] if categories else []) + ([f"SKU {_listed(skus)}"] if skus else [])
    return " or ".join(parts)
