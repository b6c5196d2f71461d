"""Is the programme keeping customers? The measures the field uses, from each customer's
purchases (net of refunds), as of a date:

- active: a purchase within the last `churn_days` (a parameter); churned: the others;
  churn rate = churned / customers with a purchase;
- repeat purchase rate: customers with two orders or more / customers with a purchase;
- average order value: net spend / orders (rounded down to the minor unit);
- purchases a year: orders of the last 365 days / customers who bought in them;
- years retained: customers / churned (one over the churn rate), at most MAX_YEARS, and
  MAX_YEARS when nobody churned;
- lifetime value: average order value x purchases a year x years retained (rounded down).

Ratios are returned as exact fractions; money as integer minor units."""
from dataclasses import dataclass
from fractions import Fraction

MAX_YEARS = 10


@dataclass(frozen=True)
class Buyer:
    """One customer's purchases, summed: orders, net spend, the day of the last order, and
    orders in the 365 days up to the report's date."""

    orders: int
    spend: int
    last_day: object        # a date
    orders_last_year: int


@dataclass(frozen=True)
class Retention:
    customers: int
    active: int
    churned: int
    churn_rate: Fraction
    repeat_purchase_rate: Fraction
    average_order_value: int
    purchases_a_year: Fraction
    years_retained: Fraction
    lifetime_value: int


def retention(buyers, as_of, churn_days):
    """The measures over `buyers` (customers with at least one order)."""
    buyers = [buyer for buyer in buyers if buyer.orders > 0]
    customers = len(buyers)
    if not customers:
        return Retention(0, 0, 0, Fraction(0), Fraction(0), 0, Fraction(0), Fraction(0), 0)
    active = sum(1 for buyer in buyers if (as_of - buyer.last_day).days < churn_days)
    churned = customers - active
    orders, spend = sum(b.orders for b in buyers), sum(b.spend for b in buyers)
    recent = [b for b in buyers if b.orders_last_year > 0]
    a_year = Fraction(sum(b.orders_last_year for b in recent), len(recent)) if recent else Fraction(0)
    years = min(Fraction(customers, churned), MAX_YEARS) if churned else Fraction(MAX_YEARS)
    average = spend // orders
    return Retention(customers, active, churned, Fraction(churned, customers),
                     Fraction(sum(1 for b in buyers if b.orders >= 2), customers), average, a_year, years,
                     int(average * a_year * years))


def cohort_retention(months_by_customer, cohort_of):
    """{cohort month: [share of the cohort buying in its month 0, 1, 2, ...]}: `months_by_customer`
    maps a customer to the months (as integers year * 12 + month - 1) it bought in,
    `cohort_of` to the month of its first purchase."""
    cohorts = {}
    for customer, months in months_by_customer.items():
        first = cohort_of[customer]
        counts = cohorts.setdefault(first, {"size": 0, "by_offset": {}})
        counts["size"] += 1
        for month in set(months):
            counts["by_offset"][month - first] = counts["by_offset"].get(month - first, 0) + 1
    return {first: [Fraction(c["by_offset"].get(k, 0), c["size"]) for k in range(max(c["by_offset"]) + 1)]
            for first, c in sorted(cohorts.items())}
