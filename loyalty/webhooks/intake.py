"""The webhooks' fast lane: a signed, well-formed event posted to `/webhooks/shop` or
`/webhooks/stripe` is verified, read and recorded below Flask (no request context,
routing, hooks or response finalising: a third of such a request's CPU, bench/history.md
round 13), by the same functions as the views.

Anything else goes to the Flask app unchanged, body included: other paths and methods, a
body without a length or over the limit, and any event this lane cannot record (a bad
signature, an invalid body, an unconfigured secret, the database away). The views then
verify, read and record it again and answer it, every error in its documented shape.
Reading and verifying are pure, and recording is idempotent, so a second try changes
nothing but the answer's source (an event whose connection was lost after it was stored
is then answered `duplicate`: stored once either way). With the database away, the
sender waits for both tries before its 503.
"""
import io
import time

from loyalty import inbox, logs, metrics
from loyalty.programme import current_programme
from loyalty.webhooks.events import read_event
from loyalty.webhooks.signature import verify

# path -> (source, the secret's setting, the signature header in the WSGI environ)
ENDPOINTS = {"/webhooks/shop": ("shop", "LOYALTY_WEBHOOK_SECRET", "HTTP_LOYALTY_SIGNATURE"),
             "/webhooks/stripe": ("stripe", "STRIPE_WEBHOOK_SECRET", "HTTP_STRIPE_SIGNATURE")}
# The three answers, as JSON written once (the views' WebhookAnswer shape).
ANSWERS = {answer: (f'{{"status": "{answer}"}}\n').encode() for answer in ("accepted", "duplicate", "ignored")}


class Intake:
    """WSGI middleware in front of the Flask app (`app.wsgi_app`)."""

    def __init__(self, app, views):
        self.app, self.views = app, views

    def __call__(self, environ, start_response):
        endpoint = ENDPOINTS.get(environ.get("PATH_INFO")) if environ.get("REQUEST_METHOD") == "POST" else None
        raw = self._body(environ) if endpoint is not None else None
        if raw is None:
            return self.views(environ, start_response)
        started = time.perf_counter()
        with self.app.app_context():
            answer = self._record(endpoint, raw, environ)
        if answer is None:
            return self.views(environ, start_response)
        request_id = logs.request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        status = 202 if answer == "accepted" else 200
        start_response("202 Accepted" if status == 202 else "200 OK",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWERS[answer]))),
                        ("X-Request-Id", request_id)])
        logs.request_done(request_id, "POST", environ["PATH_INFO"], status, started, environ.get("REMOTE_ADDR"))
        return [ANSWERS[answer]]

    def _body(self, environ):
        """The raw body when its declared length is within the limit, else None."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        limit = self.app.config.get("MAX_CONTENT_LENGTH")
        if length < 0 or (limit is not None and length > limit) or environ.get("HTTP_TRANSFER_ENCODING"):
            return None
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)         # for the views, should they answer instead
        return raw if len(raw) == length else None

    def _record(self, endpoint, raw, environ):
        """`accepted`, `duplicate` or `ignored` once recorded; None for the views to answer."""
        source, secret, header = endpoint
        try:
            text = verify(raw, environ.get(header), self.app.config.get(secret))
            event_id, event_type, command = read_event(source, text, current_programme())
            answer = "accepted" if command is not None else "ignored"
            if not inbox.record(source, event_id, event_type, text, "queued" if command is not None else "ignored"):
                answer = "duplicate"
        except Exception:       # the views answer it, in the documented shape
            return None
        metrics.event_received(source, event_type, answer)
        return answer
