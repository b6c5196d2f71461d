"""Production as the README's "Production" section sets it up: the package built without
the source tree (migrations, templates and scripts inside), `loyalty db upgrade` from
anywhere, and the Procfile's processes started as written, with gunicorn.conf.py."""
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

from tests.conftest import TEST_SECRETS
from tests.postgres import free_port
from tests.servers import wait_until
from tests.webhooks import purchase, signature

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def procfile():
    return dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                if line.strip() and not line.startswith("#"))


def get(base, path):
    try:
        with urllib.request.urlopen(base + path, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_built_package_migrates_and_serves_from_anywhere_with_the_procfile(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                            "--wheel-dir", str(tmp_path / "wheel"), str(ROOT)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "wheel").glob("loyalty-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("loyalty/migrations/env.py", "loyalty/migrations/alembic.ini", "loyalty/migrations/script.py.mako",
                   "loyalty/migrations/versions/0001_initial_schema.py", "loyalty/templates/dashboard/index.html",
                   "loyalty/templates/panel/me.html", "loyalty/static/panel.js", "rules/default_programme.toml",
                   "loyalty/static/vendor/uplot/uPlot.iife.min.js", "loyalty/static/dashboard/dashboard.js"):
        assert needed in names, needed
    assert not any(name.startswith("tests/") for name in names)
    site, release = tmp_path / "site", tmp_path / "release"
    zipfile.ZipFile(wheel).extractall(site)
    release.mkdir()
    shutil.copy(ROOT / "gunicorn.conf.py", release)          # what a release folder holds besides the package
    shutil.copy(ROOT / "Procfile", release)
    port = free_port()
    env = {**os.environ, **TEST_SECRETS, "PYTHONPATH": str(site), "PATH": f"{BIN}:{os.environ['PATH']}",
           "LOYALTY_DATABASE_URL": "sqlite:///" + str(tmp_path / "loyalty.sqlite"), "PORT": str(port),
           "WEB_CONCURRENCY": "2"}
    commands = procfile()
    migrated = subprocess.run(shlex.split(commands["release"]), cwd=release, env=env, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    assert "Running upgrade" in migrated.stderr and str(site) in subprocess.run(
        [sys.executable, "-c", "import loyalty; print(loyalty.__file__)"], cwd=release, env=env,
        capture_output=True, text=True).stdout                        # the built package, not the clone
    log = (tmp_path / "web.log").open("wb")
    web = subprocess.Popen(shlex.split(commands["web"]), cwd=release, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker = subprocess.Popen(shlex.split(commands["worker"]), cwd=release, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    base = f"http://0.0.0.0:{port}".replace("0.0.0.0", "127.0.0.1")
    try:
        wait_until(lambda: _answers(base), timeout=60)
        assert get(base, "/ready")[0] == 200
        assert get(base, "/admin/login")[0] == 200
        assert get(base, "/panel.js")[0] == 200
        assert get(base, "/static/vendor/uplot/uPlot.iife.min.js")[0] == 200
        body = json.dumps(purchase(customer="c-1", order="o-1", amount=12_999, event_id="evt-deploy"))
        request = urllib.request.Request(base + "/webhooks/shop", data=body.encode(), method="POST", headers={
            "Content-Type": "application/json", "Loyalty-Signature": signature(body, "shop_test_secret")})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202
        wait_until(lambda: b"event processed" in (tmp_path / "web.log").read_bytes(), timeout=60)
    finally:
        for process in (web, worker):
            process.send_signal(signal.SIGTERM)
        for process in (web, worker):
            process.wait(timeout=60)
        log.close()
    assert worker.returncode == 0
    lines = [json.loads(line) for line in (tmp_path / "web.log").read_text().splitlines() if line.startswith("{")]
    assert any(line.get("event_id") == "evt-deploy" and line.get("outcome") == "processed" for line in lines)
    assert any(line.get("path") == "/webhooks/shop" and line.get("status") == 202 for line in lines)


def _answers(base):
    try:
        return get(base, "/health")[0] == 200
    except OSError:
        time.sleep(0.2)
        return False
