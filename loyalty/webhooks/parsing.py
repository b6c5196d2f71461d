"""What both webhook parsers share: JSON from the verified body, money checks, event times."""
import time
from datetime import datetime, timezone

import marshmallow as ma

from loyalty.errors import LoyaltyError
from loyalty.inputs import loads

MAX_AMOUNT = 10**11            # 1,000,000,000.00 in a two-decimal currency: anything above is a mistake
FUTURE_TOLERANCE_SECONDS = 300


def json_body(text):
    body = loads(text)
    if not isinstance(body, dict):
        raise LoyaltyError(400, "malformed_request", "The body must be a JSON object.")
    return body


def load(schema, data):
    """Validate with a marshmallow schema; a failure is a 422 naming each field."""
    try:
        return schema.load(data)
    except ma.ValidationError as error:
        raise LoyaltyError(422, "invalid_request", "The event has invalid or missing fields.",
                           {"fields": error.messages}) from None


def event_time(unix_seconds, now=None):
    """An event's business time; a time in the future (beyond clock skew) is refused."""
    if unix_seconds > (now or time.time()) + FUTURE_TOLERANCE_SECONDS:
        raise LoyaltyError(422, "future_event", "The event is dated in the future.", {"created": unix_seconds})
    return datetime.fromtimestamp(unix_seconds, tz=timezone.utc)


amount_field = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(0, MAX_AMOUNT))
currency_field = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[A-Za-z]{3}$"))
unix_time_field = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(0, 2**40))
