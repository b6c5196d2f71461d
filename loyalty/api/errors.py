"""The error answers each endpoint documents, described once."""

DESCRIPTIONS = {
    400: "Malformed request (bad JSON, bad cursor).",
    401: "No credential, or a malformed, expired, revoked or forged one.",
    403: "The credential's scope may not do this.",
    404: "No such customer (or not the token's own).",
    409: "Conflict: not enough points, a negative balance, an Idempotency-Key reused with another body.",
    422: "Invalid values: unknown fields, negative amounts, another currency, limits.",
    429: "Too many requests or failed credentials: see Retry-After.",
}


def documented_errors(*statuses):
    def decorate(view):
        for status in (*statuses, 429):
            view = api_doc_error(view, status)
        return view
    return decorate


def api_doc_error(view, status):
    from flask_smorest.utils import deepupdate

    response = {"description": DESCRIPTIONS[status],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    view._apidoc = deepupdate(getattr(view, "_apidoc", {}), {"manual_doc": {"responses": {str(status): response}}})
    return view
