"""A real HTTP receiver of events out, on loopback, for tests: it keeps every request
(headers and body) and answers as told: fail the first N requests, hang on some, redirect.
Signatures are checked on the receiver's side with the `standardwebhooks` package, as a
shop's tool would."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    def __init__(self, fail_first=0, status=500, hang_first=0, hang_seconds=0.0, redirect=False, trickle=False):
        self.requests, self.lock = [], threading.Lock()
        self.fail_first, self.status = fail_first, status
        self.hang_first, self.hang_seconds, self.redirect = hang_first, hang_seconds, redirect
        self.trickle = trickle         # answer 200 with a long body sent a byte every 0.2 s
        self.release = threading.Event()       # ends hangs early when set
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body.decode(), "at": time.time()})
                    number = len(receiver.requests)
                if number <= receiver.hang_first:
                    receiver.release.wait(receiver.hang_seconds)
                if receiver.trickle:
                    self._trickle()
                elif receiver.redirect:
                    self._answer(302, b"moved", {"Location": "http://127.0.0.1:9/elsewhere"})
                elif number <= receiver.fail_first:
                    self._answer(receiver.status, b'{"error": "try later"}')
                else:
                    self._answer(200, b'{"ok": true}')

            def _trickle(self):
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    for _ in range(100):
                        if receiver.release.wait(0.2):
                            return
                        self.wfile.write(b"x")
                        self.wfile.flush()
                except OSError:
                    pass

            def _answer(self, status, body, headers=None):
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass            # the sender gave up (timed out) and closed

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/loyalty"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, secret=None):
        """Bodies received (parsed), each verified with `secret` when given."""
        with self.lock:
            requests = list(self.requests)
        if secret is not None:
            for request in requests:
                verify(secret, request)
        return [json.loads(request["body"]) for request in requests]

    def ids(self):
        with self.lock:
            return [request["headers"]["webhook-id"] for request in self.requests]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def verify(secret, request):
    """The standardwebhooks package's own check of one request; raises if it fails."""
    return Webhook(secret).verify(request["body"], request["headers"])


__all__ = ["Receiver", "verify", "WebhookVerificationError"]
