"""Hypothesis strategies of hostile input, and a way to put any of it into a JSON body.

Text a database cannot store (NUL, unpaired surrogates), text around and past every
column length, numbers past every range (and past Python's digit limit), dates outside any
sane range, JSON nested past the limit, NaN and Infinity. `Raw` is JSON text put into a
body as it is, for what `json.dumps` cannot or will not write.
"""
import json
import urllib.parse
from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True)
class Raw:
    json_text: str


def encode(body):
    """`body` as JSON text, each Raw value written verbatim."""
    raws = []

    def mark(value):
        if isinstance(value, Raw):
            raws.append(value.json_text)
            return f"__raw_{len(raws) - 1}__"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(body))
    for index, raw in enumerate(raws):
        text = text.replace(f'"__raw_{index}__"', raw, 1)
    return text


def path_segment(text):
    """Percent-encoded the way a client would (an unpaired surrogate as its raw UTF-8 bytes)."""
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


COLUMN_LENGTHS = (1, 3, 16, 32, 63, 64, 65, 254, 255, 256, 319, 320, 321, 499, 500, 501, 2000)

special_text = st.sampled_from([
    "\x00", "a\x00b", "\ud800", "x\udfff", "\ud83d", "", " ", "\t\n", "\u202e\x00", "'; DROP TABLE customers; --",
    "%s%n%x", "\\", "../../etc/passwd", "null", "0", "-1", "\ufeff", "\U0001f600", "c-1", "EUR", "eur"])
sized_text = st.builds(lambda n, c: c * n, st.sampled_from(COLUMN_LENGTHS), st.sampled_from(["x", "é", "\U0001f600"]))
any_text = st.text(st.characters(exclude_categories=()), max_size=30)      # surrogates included
hostile_text = st.one_of(special_text, sized_text, any_text)

hostile_numbers = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**11, 10**11 + 1, 10**12 + 1, 10**30]),
    st.integers(1000, 4290).map(lambda digits: int("9" * digits)),       # under the digit limit, past every range
    st.floats(allow_nan=True, allow_infinity=True))

hostile_json = st.one_of(
    st.integers(33, 3000).map(lambda depth: Raw("[" * depth + "]" * depth)),
    st.integers(33, 300).map(lambda depth: Raw('{"a":' * depth + "1" + "}" * depth)),
    st.sampled_from([Raw("NaN"), Raw("-Infinity"), Raw("9" * 5000), Raw("1e999"), Raw('"\\ud800"'),
                     Raw('"\\u0000"')]))

hostile_dates = st.sampled_from([
    "0001-01-01", "9999-12-31", "1899-12-31", "2201-01-01", "2026-02-30", "not a date", "",
    "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "2026-01-01T00:00:00", "2026-01-01T25:00:00Z"])

hostile_values = st.one_of(
    hostile_text, hostile_numbers, hostile_json, hostile_dates, st.none(), st.booleans(),
    st.lists(hostile_text, max_size=3), st.dictionaries(hostile_text, hostile_text, max_size=2))
