"""Currencies: how many minor units make one whole unit (ISO 4217 exponents).

EUR has 2 (100 cents in a euro), JPY has 0 (1000 means 1000 yen), KWD has 3.
"""
import re

ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
CODE = re.compile(r"^[A-Z]{3}$")


def exponent(currency):
    """The number of decimal places of `currency` (an upper-case ISO 4217 code)."""
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def minor_units_per_unit(currency):
    return 10 ** exponent(currency)


def is_code(text):
    return isinstance(text, str) and bool(CODE.match(text))


def format_amount(amount, currency):
    """`12999, "EUR"` -> `"129.99 EUR"`: exact, from integers, for reasons people read."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10 ** places)
    return f"{sign}{whole}.{part:0{places}d} {currency}" if places else f"{sign}{whole} {currency}"
