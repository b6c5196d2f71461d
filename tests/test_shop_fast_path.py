"""The shop purchase's fast path against its schemas: it reads plain purchases to the same
command, and never accepts a body the schemas refuse (it hands those to the schemas)."""
import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.errors import LoyaltyError
from loyalty.webhooks import shop, shop_fast_path
from loyalty.webhooks.parsing import MAX_AMOUNT

NOW = 1_790_000_000     # 2026-09: every generated purchase is in the past

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1,
                max_size=12)      # storable: no NUL, no lone surrogate
money = st.fixed_dictionaries({"amount": st.integers(0, MAX_AMOUNT), "currency": st.sampled_from(["EUR", "eur", "Eur"])})


@st.composite
def plain_purchases(draw):
    currency = draw(st.sampled_from(["EUR", "eur"]))
    line = st.fixed_dictionaries(
        {"amount": st.builds(lambda amount: {"amount": amount, "currency": currency}, st.integers(0, MAX_AMOUNT))},
        optional={"sku": st.none() | texts, "category": st.none() | texts, "quantity": st.integers(1, 1_000_000)})
    order = st.fixed_dictionaries(
        {"id": texts, "total": st.builds(lambda amount: {"amount": amount, "currency": currency},
                                         st.integers(0, MAX_AMOUNT))},
        optional={"lines": st.lists(line, max_size=4)})
    customer = st.fixed_dictionaries({"id": texts}, optional={"email": st.none(), "birthday": st.none()})
    return {"id": draw(texts), "type": "purchase.completed", "created": draw(st.integers(0, NOW)),
            "data": {"customer": draw(customer), "order": draw(order)}}


HOSTILE = [None, True, False, 0, 1, -1, 1.5, 10.0, MAX_AMOUNT, MAX_AMOUNT + 1, 2**40, 2**40 + 1, 1_000_000,
           1_000_001, "", "12", "x" * 255, "x" * 256, "x" * 300, "a\x00b", "\ud800", "é",
           "EU", "EURO", "EUR\n", "ÉUR", "usd", "USD", [], {}, [{}], {"amount": 1, "currency": "EUR"},
           {"amount": 1, "currency": "USD"}, "a@example.com", "not-an-email", "1990-05-17", "1800-01-01",
           "purchase.refunded", "other.type", NOW * 10]


def places(value, path=()):
    """Every (path to a container, key) in a body: where a value can be replaced or removed."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key
            yield from places(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield path, index
            yield from places(item, path + (index,))


def containers(value, path=()):
    if isinstance(value, dict):
        yield path
    for key, item in (value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list)
                      else ()):
        yield from containers(item, path + (key,))


def at(body, path):
    for key in path:
        body = body[key]
    return body


@st.composite
def hostile_purchases(draw):
    """A plain purchase with one to three changes: a value replaced, a key removed or added."""
    body = copy.deepcopy(draw(plain_purchases()))
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        change = draw(st.sampled_from(["replace", "remove", "add"]))
        if change == "add":
            draw_path = draw(st.sampled_from(list(containers(body))))
            at(body, draw_path)[draw(st.sampled_from(["email", "birthday", "lines", "quantity", "extra", "sku"]))] = \
                copy.deepcopy(draw(st.sampled_from(HOSTILE)))
            continue
        path, key = draw(st.sampled_from(list(places(body))))
        if change == "remove":
            del at(body, path)[key]
        else:
            at(body, path)[key] = copy.deepcopy(draw(st.sampled_from(HOSTILE)))
    return body


def outcome(read, body):
    try:
        return "read", read(body)
    except LoyaltyError as error:
        return "refused", error.status, error.code


@given(plain_purchases())
def test_a_plain_purchase_takes_the_fast_path_to_the_schemas_command(body):
    fast = shop_fast_path.purchase(body)
    assert fast is not None
    assert fast == shop.schema_command_of(body)
    assert shop.command_of(body) == fast


@settings(max_examples=600)
@given(hostile_purchases())
def test_the_fast_path_accepts_only_what_the_schemas_accept_and_reads_it_alike(body):
    try:
        fast = shop_fast_path.purchase(body)
    except LoyaltyError as error:       # only a date in the future, as the schemas' path says it
        fast_outcome = ("refused", error.status, error.code)
    else:
        if fast is None:                # handed to the schemas
            return
        fast_outcome = ("read", fast)
    assert outcome(shop.schema_command_of, body) == fast_outcome


def test_bodies_the_fast_path_hands_to_the_schemas():
    body = {"id": "e-1", "type": "purchase.completed", "created": NOW,
            "data": {"customer": {"id": "c-1"}, "order": {"id": "o-1", "total": {"amount": 100, "currency": "EUR"}}}}
    assert shop_fast_path.purchase(body) is not None
    for change in (lambda b: b["data"]["customer"].update(email="a@example.com"),      # an email to check
                   lambda b: b["data"]["customer"].update(birthday="1990-05-17"),
                   lambda b: b["data"]["order"]["total"].update(currency="EUR\n"),       # the schema's regex allows it
                   lambda b: b["data"]["order"]["total"].update(amount=True),
                   lambda b: b.update(type="purchase.refunded"),
                   lambda b: b.update(extra=1)):
        changed = copy.deepcopy(body)
        change(changed)
        assert shop_fast_path.purchase(changed) is None
    with_email = copy.deepcopy(body)
    with_email["data"]["customer"]["email"] = "a@example.com"
    assert shop.command_of(with_email)[2].customer.email == "a@example.com"


def test_a_future_purchase_is_refused_on_the_fast_path_as_on_the_schemas():
    body = {"id": "e-1", "type": "purchase.completed", "created": 2**39,
            "data": {"customer": {"id": "c-1"}, "order": {"id": "o-1", "total": {"amount": 100, "currency": "EUR"}}}}
    assert outcome(shop_fast_path.purchase, body) == outcome(shop.schema_command_of, body) == \
        ("refused", 422, "future_event")
