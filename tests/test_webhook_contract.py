"""The webhook contract as published: the served OpenAPI document and docs/webhooks.md.

The document's request bodies must say what the parsers enforce (required fields and
limits, read from the marshmallow schema objects themselves, so the two cannot drift),
and every example body in docs/webhooks.md must be accepted by the real endpoint.
"""
import hashlib
import hmac
import json
import re
from pathlib import Path

import marshmallow as ma
import pytest

from loyalty.webhooks import shop, stripe_events
from tests.webhooks import post_shop, post_stripe

DOCS = Path(__file__).parent.parent / "docs" / "webhooks.md"


# What a parsing schema enforces, field by field.

def _limits(field):
    """The JSON Schema keywords a field's validators amount to."""
    limits = {}
    least, most = ("minItems", "maxItems") if isinstance(field, ma.fields.List) else ("minLength", "maxLength")
    for check in field.validators:
        if isinstance(check, ma.validate.Length):
            limits.update({k: v for k, v in ((least, check.min), (most, check.max)) if v is not None})
        elif isinstance(check, ma.validate.Range):
            limits.update({k: v for k, v in (("minimum", check.min), ("maximum", check.max)) if v is not None})
        elif isinstance(check, ma.validate.Regexp):
            limits["pattern"] = check.regex.pattern
        elif isinstance(check, ma.validate.OneOf):
            limits["enum"] = list(check.choices)
    if isinstance(field, stripe_events.Expandable):
        limits["maxLength"] = field.most
    return limits


def enforced(schema, path=""):
    """{dotted path: (required, limits)} for every field the schema loads, nested ones too
    (a list's items are under `path[]`)."""
    found = {}
    for name, field in schema.fields.items():
        here = f"{path}{name}"
        inner, at = field, here
        if isinstance(field, ma.fields.List):
            found[here] = (field.required, _limits(field))
            inner, at = field.inner, here + "[]"
        if isinstance(inner, ma.fields.Nested):
            if inner is field:
                found[here] = (field.required, _limits(field))
            found.update(enforced(inner.schema, at + "."))
        elif inner is field:
            found[here] = (field.required, _limits(field))
    return found


# What the served document says.

class Document:
    def __init__(self, spec):
        self.schemas = spec["components"]["schemas"]
        self.spec = spec

    def resolve(self, schema):
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def body(self, path):
        return self.spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]

    def alternative(self, path, event_type):
        """The body schema of one event type, found through the discriminator."""
        schema = self.body(path)
        ref = schema["discriminator"]["mapping"][event_type]
        assert {"$ref": ref} in schema["oneOf"]
        found = self.resolve({"$ref": ref})
        assert found["properties"]["type"]["enum"] == [event_type]
        return found

    def described(self, schema, path=""):
        """{dotted path: (required, property)} for every property, through refs and arrays."""
        found = {}
        schema = self.resolve(schema)
        for name, prop in schema.get("properties", {}).items():
            here, required = f"{path}{name}", name in schema.get("required", [])
            prop = self.resolve(prop) if "$ref" in prop else prop
            found[here] = (required, prop)
            if prop.get("type") == "array":
                items = self.resolve(prop["items"])
                found.update(self.described(items, here + "[]."))
            elif prop.get("type") == "object" and "properties" in prop:
                found.update(self.described(prop, here + "."))
        return found


def _limits_of(prop):
    keys = ("minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum", "pattern", "enum")
    limits = {k: prop[k] for k in keys if k in prop}
    for alternative in prop.get("oneOf", []):          # a Stripe id or its expanded object
        if alternative.get("type") == "string":
            limits.update({k: alternative[k] for k in keys if k in alternative})
    return limits


@pytest.fixture(scope="module")
def document():
    from tests.conftest import make_app
    app = make_app("sqlite://")
    return Document(app.test_client().get("/openapi.json").get_json())


def _without(found, *names):
    return {path: value for path, value in found.items() if path not in names}


def _expected(envelope, data, wrapper=None):
    """A whole body as the parser reads it: the envelope's fields but `data`, then `data`
    (for Stripe, `data.object`) loaded with the type's schema."""
    expected = _without(enforced(envelope), "data")
    expected["data"] = (True, {})
    inner = "data."
    if wrapper:
        expected[f"data.{wrapper}"] = (True, {})
        inner = f"data.{wrapper}."
    expected.update({inner + path: value for path, value in enforced(data).items()})
    return expected


def _compare(documented, expected, event_type):
    assert set(documented) == set(expected), (event_type, set(documented) ^ set(expected))
    for path, (required, limits) in expected.items():
        doc_required, prop = documented[path]
        assert doc_required == required, (event_type, path)
        doc_limits = _limits_of(prop)
        if path == "type":                            # narrowed to the one type in the document
            assert doc_limits.pop("enum") == [event_type]
        assert doc_limits == limits, (event_type, path, doc_limits, limits)


@pytest.mark.parametrize("event_type, data", [
    ("purchase.completed", shop.PURCHASE), ("purchase.refunded", shop.REFUND)])
def test_the_shop_body_in_the_document_is_what_the_parser_enforces(document, event_type, data):
    body = document.alternative("/webhooks/shop", event_type)
    _compare(document.described(body), _expected(shop.ENVELOPE, data), event_type)
    assert body["additionalProperties"] is False                 # the parser refuses unknown fields


@pytest.mark.parametrize("event_type, data", [
    ("checkout.session.completed", stripe_events.CHECKOUT_SESSION),
    ("payment_intent.succeeded", stripe_events.PAYMENT_INTENT),
    ("charge.refunded", stripe_events.CHARGE)])
def test_the_stripe_body_in_the_document_is_what_the_parser_enforces(document, event_type, data):
    body = document.alternative("/webhooks/stripe", event_type)
    _compare(document.described(body), _expected(stripe_events.EVENT, data, wrapper="object"), event_type)
    assert "additionalProperties" not in body                    # Stripe's other fields are ignored


def test_the_document_lists_every_type_the_parsers_consume(document):
    for path, types in (("/webhooks/shop", {"purchase.completed", "purchase.refunded"}),
                        ("/webhooks/stripe", {"checkout.session.completed", "payment_intent.succeeded",
                                              "charge.refunded"})):
        assert set(document.body(path)["discriminator"]["mapping"]) == types
        assert document.body(path)["oneOf"]


def test_the_document_warns_that_metadata_customer_id_is_not_read(document):
    metadata = document.schemas["StripeMetadata"]
    assert set(metadata["properties"]) == {"loyalty_customer_id"}
    assert "customer_id` is NOT read" in metadata["properties"]["loyalty_customer_id"]["description"]


# docs/webhooks.md

def _json_blocks():
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DOCS.read_text(), re.S)]


def test_the_docs_have_examples_of_every_consumed_type():
    assert {body["type"] for body in _json_blocks()} == {
        "purchase.completed", "purchase.refunded", "checkout.session.completed", "payment_intent.succeeded",
        "charge.refunded"}


def test_every_example_body_in_the_docs_is_accepted(client):
    bodies = _json_blocks()
    assert len({body["id"] for body in bodies}) == len(bodies)     # distinct ids: none is a duplicate
    for body in bodies:
        post = post_shop if body["type"].startswith("purchase.") else post_stripe
        answer = post(client, body)
        assert answer.status_code == 202, (body["id"], answer.status_code, answer.get_json())
        assert answer.get_json() == {"status": "accepted"}


def test_the_worked_signature_example_is_right():
    text = DOCS.read_text()
    secret = re.search(r"^secret='([^']*)'$", text, re.M).group(1)
    t = re.search(r"^t=(\d+)$", text, re.M).group(1)
    body = re.search(r"^body='([^']*)'$", text, re.M).group(1)
    printed = re.search(r"^# Loyalty-Signature: t=(\d+),v1=([0-9a-f]{64})$", text, re.M)
    assert printed.group(1) == t
    assert printed.group(2) == hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    assert json.loads(body)["type"] == "purchase.completed"
