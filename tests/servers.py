"""A real gunicorn serving the app (wsgi:app) on a free loopback port, for end-to-end tests."""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import TEST_SECRETS
from tests.postgres import free_port

ROOT = Path(__file__).resolve().parents[1]


class Gunicorn:
    def __init__(self, database_url, workers=4, app_module="wsgi:app", healthy=True, **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, **TEST_SECRETS, "LOYALTY_DATABASE_URL": database_url, **env}
        self.log = tempfile.TemporaryFile()     # a file, not a pipe: a chatty server never blocks on it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:loyalty.gunicorn_conf", "--bind",
             f"127.0.0.1:{self.port}", "--workers", str(workers), "--log-level", "warning", app_module],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait(healthy)

    def output(self):
        """What the server printed (its log), so far or up to `stop()`."""
        if self.log.closed:
            return self.final_output
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def _wait(self, healthy, timeout=60):
        """Until /health answers 200 (with `healthy` False: answers at all)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited: " + self.output())
            try:
                if self.request("GET", "/health")[0] == 200 or not healthy:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /health in time")

    def request(self, method, path, body=None, headers=None):
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.final_output = self.output()
        self.log.close()


class Worker:
    """A real `loyalty worker` process on the given database."""

    def __init__(self, database_url, *args, **env):
        environment = {**os.environ, **TEST_SECRETS, "LOYALTY_DATABASE_URL": database_url, **env}
        self.log = tempfile.TemporaryFile()     # a file, not a pipe: the worker logs a line per event
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from loyalty.cli import main; main()", "worker", "--poll", "0.2", *args],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.process.poll() is None

    def kill(self):
        """kill -9: no chance to finish anything."""
        self.process.kill()
        self.process.wait(timeout=30)
        self.log.close()

    def stop(self, timeout=30):
        """SIGTERM: the batch in hand finishes, then the process exits; answers its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.seek(0)
        self.output = self.log.read().decode(errors="replace")
        self.log.close()
        return self.process.returncode


def wait_until(predicate, timeout=120, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    raise AssertionError("the condition did not hold in time")
