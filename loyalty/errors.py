"""Every error the service answers, in one JSON shape (api.md, "Errors").

`{"error": {"code": "<snake_case>", "message": "<sentence>", "details": {...}}}`: no
stack trace, SQL or secret ever leaves the service; the full story goes to the log.
"""
import logging

import flask_smorest
import marshmallow as ma
from flask import request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

CODES = {
    400: ("malformed_request", "The request could not be read."),
    401: ("unauthenticated", "A valid credential is required."),
    403: ("forbidden", "This credential may not do that."),
    404: ("not_found", "No such resource."),
    405: ("method_not_allowed", "This method is not allowed here."),
    409: ("conflict", "The request conflicts with the current state."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "The request body must be JSON."),
    422: ("invalid_request", "The request has invalid values."),
    429: ("rate_limited", "Too many requests; retry later."),
    500: ("internal_error", "An unexpected error occurred."),
    503: ("storage_unavailable", "Storage is unavailable; retry later."),
}


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Machine-readable snake_case code."})
    message = ma.fields.String(metadata={"description": "A sentence for humans."})
    details = ma.fields.Dict(metadata={"description": "Field errors or other particulars."})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema)


class LoyaltyError(Exception):
    """A domain error with its HTTP status: raised by services, answered in one place."""

    def __init__(self, status, code, message, details=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or {}
        self.headers = headers or {}


def error_response(status, code=None, message=None, details=None, headers=None):
    default_code, default_message = CODES.get(status, ("error", "The request failed."))
    body = {"error": {"code": code or default_code, "message": message or default_message,
                      "details": details or {}}}
    return body, status, headers or {}


class Api(flask_smorest.Api):
    """flask-smorest's Api, answering HTTP errors in the service's error shape."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        data = getattr(error, "data", None) or {}
        details = data.get("errors") or data.get("messages") or {}
        headers = dict(data.get("headers") or {})
        if error.code == 405:
            headers.update((k, v) for k, v in error.get_headers() if k == "Allow")
        if error.code == 400 and not details and error.description:
            details = {"reason": error.description}
        return error_response(error.code, details=details, headers=headers)


def _domain_error(error):
    return error_response(error.status, error.code, error.message, error.details, error.headers)


def _storage_error(error):
    """503 with Retry-After: the sender (Stripe, a shop) retries instead of losing the event.

    Any OperationalError counts: a lost connection, a locked SQLite file, a schema not yet
    migrated. Retrying those later is always safe; answering 2xx would lose the event.
    """
    log.error("storage unavailable on %s %s: %s", request.method, request.path, error)
    return error_response(503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _unexpected_error(error):
    if isinstance(error, HTTPException):  # pragma: no cover  (the Api handler takes these)
        return error
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(500)


def _reject_oversized_body():
    """Refuse a body over the limit from its declared length, before anything reads it."""
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        return error_response(413, details={"max_bytes": limit})
    return None


def init_app(app):
    app.before_request(_reject_oversized_body)
    app.register_error_handler(LoyaltyError, _domain_error)
    app.register_error_handler(OperationalError, _storage_error)
    app.register_error_handler(DBAPIError, _dbapi_error)
    app.register_error_handler(Exception, _unexpected_error)


def _dbapi_error(error):
    """A lost connection is a storage outage (503); any other database error is a bug (500)."""
    if error.connection_invalidated:
        return _storage_error(error)
    return _unexpected_error(error)
