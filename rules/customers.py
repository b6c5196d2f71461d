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
from dataclasses import astuple, dataclass
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


@dataclass(frozen=True)
class Totals:
    """A group of buyers summed, all the measures need: buyers, active buyers, buyers with two
    orders or more, orders, net spend, orders of the last 365 days and buyers with one."""

    customers: int = 0
    active: int = 0
    repeaters: int = 0
    orders: int = 0
    spend: int = 0
    recent_orders: int = 0
    recent_buyers: int = 0

    def __add__(self, other):
        return Totals(*(a + b for a, b in zip(astuple(self), astuple(other))))


def totals(buyers, as_of, churn_days):
    """`buyers` summed (customers with no order left out), as `retention` counts them."""
    buyers = [buyer for buyer in buyers if buyer.orders > 0]
    return Totals(len(buyers), sum(1 for b in buyers if (as_of - b.last_day).days < churn_days),
                  sum(1 for b in buyers if b.orders >= 2), sum(b.orders for b in buyers),
                  sum(b.spend for b in buyers), sum(b.orders_last_year for b in buyers),
                  sum(1 for b in buyers if b.orders_last_year > 0))


def measures(summed):
    """The measures of a group from its totals: `retention(buyers, ...)` is
    `measures(totals(buyers, ...))`, and totals add up, so a group's measures can come
    from the totals of its parts."""
    customers = summed.customers
    if not customers:
        return Retention(0, 0, 0, Fraction(0), Fraction(0), 0, Fraction(0), Fraction(0), 0)
    churned = customers - summed.active
    a_year = Fraction(summed.recent_orders, summed.recent_buyers) if summed.recent_buyers else Fraction(0)
    years = min(Fraction(customers, churned), MAX_YEARS) if churned else Fraction(MAX_YEARS)
    average = summed.spend // summed.orders
    return Retention(customers, summed.active, churned, Fraction(churned, customers),
                     Fraction(summed.repeaters, customers), average, a_year, years, int(average * a_year * years))


def buying_by_month(months_by_customer, cohort_of):
    """{(cohort month, month): customers of the cohort buying in that month}, from the same
    arguments as `cohort_retention`."""
    buying = {}
    for customer, months in months_by_customer.items():
        for month in set(months):
            key = (cohort_of[customer], month)
            buying[key] = buying.get(key, 0) + 1
    return buying


def cohort_shares(sizes, buying):
    """`cohort_retention` from counts: `sizes` {cohort month: customers}, `buying` as
    `buying_by_month` answers it."""
    offsets = {}
    for (first, month), customers in buying.items():
        offsets.setdefault(first, {})[month - first] = customers
    return {first: [Fraction(found.get(k, 0), sizes[first]) for k in range(max(found) + 1)]
            for first, found in sorted(offsets.items())}
