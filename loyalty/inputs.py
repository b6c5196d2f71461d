"""What any input may hold, decided in one place and enforced where it enters.

- Text: at most the length of the column that stores it (read from the model, so a
  limit and its column cannot drift apart), and nothing a database cannot store: no NUL
  (PostgreSQL refuses it in text) and no unpaired UTF-16 surrogate (not UTF-8 at all).
- Dates and times: years 1900-2200; anything else is a typo or a probe, and overflows
  date arithmetic.
- JSON: at most MAX_JSON_DEPTH levels, no NaN or Infinity, integers within Python's
  digit limit; a body that breaks any of these is a 400, never a RecursionError.
- Text the service composes itself (ledger reasons, keys made of several ids) is fitted
  to its column by construction: `clip` and `fitted_key`.
"""
import hashlib
import json
import re

import click
import flask_smorest
import marshmallow as ma
from flask import request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import BaseConverter

from loyalty.errors import LoyaltyError

MAX_JSON_DEPTH = 32
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
NOT_STORABLE = "Contains a character that cannot be stored (NUL or an unpaired surrogate)."


def storable(text):
    return UNSTORABLE.search(text) is None


_LENGTHS = {}


def length_of(column):
    """The length of a model's string column: `length_of(Customer.email)` is 320. Kept by the
    attribute's identity: reading it through SQLAlchemy's attribute costs microseconds."""
    found = _LENGTHS.get(id(column))
    if found is None:
        found = _LENGTHS[id(column)] = column.type.length
    return found


def _refuse_unstorable(value):
    if not storable(value):
        raise ma.ValidationError(NOT_STORABLE)


def _sane_year(value):
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ma.ValidationError(f"The year must be between {EARLIEST_YEAR} and {LATEST_YEAR}.")


class Text(ma.fields.String):
    """A string its column can store: `Text(Customer.email)`, or `Text(most=64)` for text
    that is checked but not stored as given. `least` is the shortest allowed (default 0)."""

    def __init__(self, column=None, *, least=0, most=None, validate=(), **kwargs):
        most = length_of(column) if most is None else most
        checks = [ma.validate.Length(least or None, most), _refuse_unstorable]
        super().__init__(validate=checks + list(validate if isinstance(validate, (list, tuple)) else [validate]),
                         **kwargs)
        self.column = column


class Email(Text):
    def __init__(self, column=None, **kwargs):
        super().__init__(column, validate=ma.validate.Email(), **kwargs)


class Date(ma.fields.Date):
    def __init__(self, **kwargs):
        super().__init__(validate=_sane_year, **kwargs)


class AwareDateTime(ma.fields.AwareDateTime):
    def __init__(self, **kwargs):
        super().__init__(validate=_sane_year, **kwargs)


class CommandLineText(click.ParamType):
    """A command-line value held to the same rules as a request's: `CommandLineText(ApiKey.name)`."""

    name = "text"

    def __init__(self, column):
        self.most = length_of(column)

    def convert(self, value, param, ctx):
        if len(value) > self.most:
            self.fail(f"longer than {self.most} characters", param, ctx)
        if not storable(value):
            self.fail(NOT_STORABLE, param, ctx)
        return value


def _no_constants(name):
    raise ValueError(f"{name} is not a JSON number")


def _too_deep(text, value):
    """True when containers nest deeper than MAX_JSON_DEPTH. Only a text with more opening
    brackets than that can (counting them is cheap); then the parsed value is walked a
    level at a time, without recursion."""
    opening = ("{", "[") if isinstance(text, str) else (b"{", b"[")
    if text.count(opening[0]) + text.count(opening[1]) <= MAX_JSON_DEPTH:
        return False
    level, containers = 1, [value]
    while containers:
        if level > MAX_JSON_DEPTH:
            return True
        deeper = []
        for item in containers:
            deeper += [child for child in (item.values() if type(item) is dict else item)
                       if type(child) is dict or type(child) is list]
        containers, level = deeper, level + 1
    return False


_TOO_DEEP = object()


def loads(text):
    """A JSON document from a request body, or a 400 in the error format."""
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        value = _TOO_DEEP
    except ValueError as error:     # also JSONDecodeError, bad UTF-8 and the integer digit limit
        raise LoyaltyError(400, "malformed_request", "The body is not valid JSON.",
                           {"reason": str(error).split(";")[0][:200]}) from None
    if value is _TOO_DEEP or (isinstance(value, (dict, list)) and _too_deep(text, value)):
        raise LoyaltyError(400, "malformed_request", f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.",
                           {"max_depth": MAX_JSON_DEPTH})
    return value


class Parser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with `loads`."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        return loads(data) if data else core.missing


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest blueprint whose request bodies are read with `loads`."""

    ARGUMENTS_PARSER = Parser()


def clip(text, column):
    """Composed text cut to fit `column`, ending with an ellipsis when cut."""
    most = length_of(column)
    return text if len(text) <= most else text[:most - 1] + "…"


def fitted_key(text, column):
    """A key made of several ids, fitted to `column`: itself when short enough, else its
    head and a digest of the whole, so distinct keys stay distinct."""
    most = length_of(column)
    if len(text) <= most:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{text[:most - len(digest) - 1]}~{digest}"


class PathText(BaseConverter):
    """Any one path segment; `check_path_parameters` holds it to its column, so a bad one is a
    422 naming it rather than a 404 from the router."""

    length = None      # of the column that holds it


def path_converters(columns):
    """name -> a converter of that name for each `columns` entry (path parameter -> column)."""
    return {name: type(f"{name}_converter", (PathText,), {"length": length_of(column)}) for name, column in columns.items()}


def documented_path(converter):
    """The OpenAPI schema of a PathText parameter: a string as long as its column."""
    return {"type": "string", "minLength": 1, "maxLength": converter.length}


def check_path_parameters(columns):
    """A before-request hook: each path parameter named in `columns` must fit that column and
    be storable, else 422 naming it (a longer id cannot exist; a NUL cannot be looked up)."""
    def check():
        problems = {}
        for name, value in (request.view_args or {}).items():
            column = columns.get(name)
            if column is None or not isinstance(value, str):
                continue
            if len(value) > length_of(column):
                problems[name] = [f"Longer than {length_of(column)} characters."]
            elif not storable(value):
                problems[name] = [NOT_STORABLE]
        if problems:
            raise LoyaltyError(422, "invalid_request", "The path has invalid values.", {"path": problems})
    return check


def require_json_bodies():
    """A before-request hook for /v1: a body sent with another Content-Type (or none) is 415.
    Read as JSON anyway it would be ignored field by field: an enrolment's email silently
    dropped, or a quote refused for a "missing" field that was sent."""
    if not request.path.startswith("/v1/") or request.method not in ("POST", "PUT", "PATCH"):
        return
    if (request.content_length or 0) == 0 and not request.headers.get("Transfer-Encoding"):
        return
    if not request.is_json:
        raise LoyaltyError(415, "unsupported_media_type",
                           "Send the body as JSON, with the header `Content-Type: application/json`.",
                           {"content_type": (request.mimetype or "")[:100]})
