"""The command line as users meet it: a user's mistake is exit code 2 and one line saying
what and where (one per problem), never a traceback.

The programme file is checked through the real console script (`.venv/bin/loyalty`, the
way cron and operators run it); `jobs run --now` and `keys revoke` through the Flask CLI
runner, on both backends.
"""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rules.loading import DEFAULT_PATH
from tests import state
from tests.api import bearer, make_key
from tests.webhooks import deliver_shop, purchase

LOYALTY = Path(sys.executable).with_name("loyalty")       # the console script of this virtualenv
OUT_OF_ORDER_TIERS = "tiers[1].from: must be above tiers[0].from"


def _loyalty(*args, url, programme=None):
    env = {**os.environ, "LOYALTY_DATABASE_URL": url}
    env.pop("LOYALTY_PROGRAMME", None)
    if programme is not None:
        env["LOYALTY_PROGRAMME"] = str(programme)
    return subprocess.run([str(LOYALTY), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def sqlite_url(migrated_databases):
    return migrated_databases("sqlite", None)


def _programme(tmp_path, replace=None, name="programme.toml"):
    """The shipped programme with one setting's text replaced: (old, new)."""
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text, replace
        text = text.replace(*replace, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _tiers_out_of_order(tmp_path):
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    second = "from = 100000"                             # the second tier's threshold (the first is 0)
    assert second in text
    path = tmp_path / "out_of_order.toml"
    path.write_text(text.replace(second, second.split("=")[0] + "= 0", 1), encoding="utf-8")
    return path


# The programme file, through the real console script.

@pytest.mark.parametrize("args", [["keys", "list"], ["jobs", "run", "--dry-run"], ["worker", "--once"], ["--help"]])
def test_a_bad_programme_file_is_named_by_place_with_exit_code_2(tmp_path, sqlite_url, args):
    bad = _tiers_out_of_order(tmp_path)
    result = _loyalty(*args, url=sqlite_url, programme=bad)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert f"error: programme {bad}: {OUT_OF_ORDER_TIERS}" in lines
    assert all(line.startswith(f"error: programme {bad}: ") for line in lines), lines


def test_every_problem_of_the_programme_is_listed_one_a_line(tmp_path, sqlite_url):
    bad = tmp_path / "two_problems.toml"
    bad.write_text(_tiers_out_of_order(tmp_path).read_text().replace('timezone = "UTC"', 'timezone = "Mars/Olympus"'))
    result = _loyalty("keys", "list", url=sqlite_url, programme=bad)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and any(OUT_OF_ORDER_TIERS in line for line in lines)
    assert any("timezone" in line for line in lines), lines


@pytest.mark.parametrize("content, problem", [(None, "cannot be read"), ('tiers = [', "not valid TOML")])
def test_a_missing_or_unreadable_programme_file_is_one_line(tmp_path, sqlite_url, content, problem):
    path = tmp_path / "programme.toml"
    if content is not None:
        path.write_text(content)
    result = _loyalty("keys", "list", url=sqlite_url, programme=path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"error: programme {path}: ") and problem in result.stderr


def test_a_good_programme_file_runs_the_command(tmp_path, sqlite_url):
    result = _loyalty("keys", "list", url=sqlite_url, programme=_programme(tmp_path))
    assert result.returncode == 0, result.stderr


def test_a_usage_error_of_the_console_script_is_one_line(sqlite_url):
    result = _loyalty("keys", "revoke", url=sqlite_url)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["Error: loyalty keys revoke: Missing argument 'PREFIX'."]


# `jobs run --now`

def _run(runner, *args):
    return runner.invoke(args=["jobs", "run", *args])


def _ran_as_of(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])["now"]


def _one_line_error(result):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, (SystemExit, type(None)))
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("given, as_of", [
    ("2026-01-15", "2026-01-14T23:00:00+00:00"),                 # the start of that day in Paris (UTC+1)
    ("2026-07-01", "2026-06-30T22:00:00+00:00"),                 # summer time (UTC+2)
    ("2026-07-01T03:00", "2026-07-01T01:00:00+00:00"),           # no zone: the programme's
    ("2026-07-01T03:00:00+00:00", "2026-07-01T03:00:00+00:00"),  # a zone: as given
    ("2026-07-01T03:00Z", "2026-07-01T03:00:00+00:00"),
])
def test_now_takes_a_date_or_a_date_time_in_the_programmes_zone(app_factory, database_url, tmp_path, given, as_of):
    paris = _programme(tmp_path, ('timezone = "UTC"', 'timezone = "Europe/Paris"'))
    runner = app_factory(database_url, LOYALTY_PROGRAMME=str(paris)).test_cli_runner()
    assert _ran_as_of(_run(runner, "--now", given, "--dry-run")) == as_of


@pytest.mark.parametrize("given", ["soon", "2026-13-01", "2026-12-01T25:00", "9999-01-01", "tomorrow 3am", ""])
def test_a_bad_now_is_one_line_naming_the_option(runner, given):
    line = _one_line_error(_run(runner, "--now", given))
    assert "--now" in line


def test_a_future_now_is_refused_without_yes_and_commits_nothing(app, client, runner):
    assert deliver_shop(client, purchase(customer="c-42", order="o-1", amount=10_000)) == "processed"
    pending = state.customer(app, "c-42")["pending"]
    later = (datetime.now(timezone.utc) + timedelta(days=19, hours=1)).date().isoformat()
    line = _one_line_error(_run(runner, "--now", later))
    assert "--now is 19 days in the future" in line and "--yes" in line
    assert state.customer(app, "c-42")["pending"] == pending          # nothing released
    assert _run(runner, "--now", later, "--dry-run").exit_code == 0   # a dry run commits nothing: no --yes
    assert state.customer(app, "c-42")["pending"] == pending
    assert _run(runner, "--now", later, "--yes").exit_code == 0
    assert state.customer(app, "c-42")["pending"] == 0                # released as of that day


def test_a_now_within_a_minute_needs_no_yes(runner):
    soon = (datetime.now(timezone.utc) + timedelta(seconds=20)).isoformat()
    assert _run(runner, "--now", soon).exit_code == 0
    hours = (datetime.now(timezone.utc) + timedelta(hours=5, minutes=10)).isoformat()
    assert "5 hours in the future" in _one_line_error(_run(runner, "--now", hours))


# `keys revoke`

def _prefix_as_listed(runner):
    listed = runner.invoke(args=["keys", "list"])
    assert listed.exit_code == 0, listed.output
    return listed.output.strip().splitlines()[-1].split("\t")[0]


@pytest.mark.parametrize("form", ["as listed", "lk_prefix", "whole key"])
def test_revoke_takes_the_prefix_as_listed_or_the_key(client, runner, form):
    key = make_key(runner, "shop")
    prefix = _prefix_as_listed(runner)
    given = {"as listed": prefix, "lk_prefix": f"lk_{prefix}", "whole key": key}[form]
    result = runner.invoke(args=["keys", "revoke", given])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"revoked {prefix}"
    assert client.get("/v1/customers/c-1/balance", headers=bearer(key)).status_code == 401


def test_revoke_refuses_in_one_line_what_is_not_a_key_here(client, runner):
    key = make_key(runner, "shop")
    prefix = _prefix_as_listed(runner)
    assert "no key with prefix nope" in _one_line_error(runner.invoke(args=["keys", "revoke", "nope"]))
    assert "not a key prefix" in _one_line_error(runner.invoke(args=["keys", "revoke", "lk_" + "a" * 40]))
    forged = f"lk_{prefix}_{'x' * 43}"                  # the right prefix, another secret
    assert "not the key with prefix" in _one_line_error(runner.invoke(args=["keys", "revoke", forged]))
    assert client.get("/v1/customers/c-1/balance", headers=bearer(key)).status_code != 401


@pytest.mark.parametrize("setting, value", [("LOYALTY_TRUSTED_PROXIES", "yes"), ("LOYALTY_LOG_LEVEL", "loud"),
                                            ("LOYALTY_WEBHOOK_TIMEOUT", "soon"), ("LOYALTY_PANEL_ORIGINS", "*")])
def test_a_bad_environment_setting_is_one_line_and_exit_2(sqlite_url, setting, value, monkeypatch):
    monkeypatch.setenv(setting, value)
    result = _loyalty("keys", "list", url=sqlite_url)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: configuration: {setting}:"), line
