"""Programme versions: drafted, compared, published for a time, listed with an audit log,
from the command line and the admin API, on both backends."""
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from loyalty.extensions import db
from loyalty.programme import programme_book
from loyalty.programmes import store
from tests.api import bearer, make_key

DEFAULT = (Path(__file__).resolve().parents[1] / "rules" / "default_programme.toml").read_text()


def variant(label, **replacements):
    text = DEFAULT.replace('version = "default-2026.1"', f'version = "{label}"')
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    return text


GOLD_50 = {"id = \"tier-gold\"\npercent = 25": "id = \"tier-gold\"\npercent = 50"}


def test_the_configured_programme_is_the_first_version(app, runner):
    result = runner.invoke(args=["programme", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [(v["version"], v["status"]) for v in listed["versions"]] == [("default-2026.1", "live")]
    assert listed["audit"][0]["action"] == "published"


def test_draft_diff_publish_list_from_the_command_line(app, runner, tmp_path):
    path = tmp_path / "gold50.toml"
    path.write_text(variant("gold-50", **GOLD_50))
    drafted = runner.invoke(args=["programme", "draft", str(path)])
    assert drafted.exit_code == 0, drafted.output
    version_id = drafted.output.strip().splitlines()[-1]
    assert version_id.isdigit()

    diff = runner.invoke(args=["programme", "diff", "default-2026.1", version_id, "--format", "json"])
    assert json.loads(diff.output)["changes"] == [
        {"place": "bonuses[0].percent", "old": 25, "new": 50},
        {"place": "version", "old": "default-2026.1", "new": "gold-50"}]

    when = (datetime.now(timezone.utc) + timedelta(days=3)).replace(microsecond=0)
    published = runner.invoke(args=["programme", "publish", "gold-50", "--effective-from", when.isoformat()])
    assert published.exit_code == 0, published.output
    listed = json.loads(runner.invoke(args=["programme", "list", "--format", "json"]).output)
    assert [(v["version"], v["status"]) for v in listed["versions"]] == [("gold-50", "scheduled"),
                                                                        ("default-2026.1", "live")]
    assert [(a["version"], a["action"]) for a in listed["audit"][:2]] == [("gold-50", "published"),
                                                                          ("gold-50", "drafted")]
    assert listed["audit"][0]["actor"].startswith("cli")
    shown = runner.invoke(args=["programme", "show", "gold-50"])
    assert "percent = 50" in shown.output and "scheduled" in shown.output

    again = runner.invoke(args=["programme", "publish", "gold-50"])
    assert again.exit_code == 2 and "already published" in again.output


def test_an_invalid_draft_lists_every_problem_by_place_and_exits_2(app, runner, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(variant("bad", **{"from = 100000\npriority_support = true": "from = 0\npriority_support = true",
                                      "percent = 3": "percent = -3"}))
    result = runner.invoke(args=["programme", "draft", str(path)])
    assert result.exit_code == 2
    assert "tiers[1].from" in result.output and "discounts[1].percent" in result.output
    assert "Traceback" not in result.output


def test_a_version_keeps_the_currency_and_time_zone(app, runner, tmp_path):
    path = tmp_path / "usd.toml"
    path.write_text(variant("usd", **{'currency = "EUR"': 'currency = "USD"', 'timezone = "UTC"':
                                      'timezone = "Europe/Paris"'}))
    result = runner.invoke(args=["programme", "draft", str(path)])
    assert result.exit_code == 2
    assert "currency: must stay EUR" in result.output and "timezone: must stay UTC" in result.output


def test_a_version_cannot_take_effect_in_the_past(app, runner, tmp_path):
    path = tmp_path / "late.toml"
    path.write_text(variant("late", **GOLD_50))
    runner.invoke(args=["programme", "draft", str(path)])
    result = runner.invoke(args=["programme", "publish", "late", "--effective-from", "2020-01-01T00:00:00+00:00"])
    assert result.exit_code == 2 and "never in the past" in result.output


def test_admin_api_drafts_publishes_lists_and_diffs(app, client, runner):
    admin, shop = make_key(runner, "admin", "ops"), make_key(runner, "shop")
    assert client.get("/v1/admin/programmes", headers=bearer(shop)).status_code == 403
    made = client.post("/v1/admin/programmes", headers=bearer(admin), json={"source": variant("gold-50", **GOLD_50)})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["status"] == "draft" and made.get_json()["created_by"].endswith("(ops)")
    assert made.get_json()["programme"]["bonuses"][0]["percent"] == 50

    as_object = client.post("/v1/admin/programmes", headers=bearer(admin),
                            json={"programme": {**made.get_json()["programme"], "version": "gold-50-json"}})
    assert as_object.status_code == 201
    assert as_object.get_json()["digest"] != made.get_json()["digest"]       # the label differs

    diff = client.get(f"/v1/admin/programmes/default-2026.1/diff/{made.get_json()['id']}", headers=bearer(admin))
    assert diff.get_json()["from"] == "default-2026.1"
    assert {"place": "bonuses[0].percent", "old": 25, "new": 50} in diff.get_json()["changes"]

    when = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    published = client.post("/v1/admin/programmes/gold-50/publish", headers=bearer(admin),
                            json={"effective_from": when})
    assert published.status_code == 200 and published.get_json()["status"] == "scheduled"
    taken = client.post("/v1/admin/programmes/gold-50-json/publish", headers=bearer(admin),
                        json={"effective_from": when})
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "effective_from_taken"
    listed = client.get("/v1/admin/programmes", headers=bearer(admin)).get_json()
    assert [v["status"] for v in listed["versions"]] == ["draft", "scheduled", "live"]
    assert ("(ops)", "published", "gold-50") in [(a["actor"][-5:], a["action"], a["version"]) for a in listed["audit"]]


def test_admin_api_refuses_bad_drafts_with_every_problem(app, client, runner):
    admin = make_key(runner, "admin")
    bad = client.post("/v1/admin/programmes", headers=bearer(admin),
                      json={"source": variant("bad", **{"percent = 3": "percent = -3"}).replace("[earning]", "[earnin]")})
    assert bad.status_code == 422
    problems = bad.get_json()["error"]["details"]["problems"]
    assert any(p.startswith("discounts[1].percent") for p in problems) and any("earning" in p for p in problems)
    garbage = client.post("/v1/admin/programmes", headers=bearer(admin), json={"source": "[[[", "format": "toml"})
    assert garbage.status_code == 422 and "not valid TOML" in garbage.get_json()["error"]["details"]["problems"][0]
    both = client.post("/v1/admin/programmes", headers=bearer(admin), json={"source": "x", "programme": {}})
    assert both.status_code == 422
    assert client.get("/v1/admin/programmes/nope", headers=bearer(admin)).status_code == 404


def test_a_published_version_is_seen_by_another_process_within_the_refresh(app, app_factory, database_url, runner):
    other = app_factory(database_url, LOYALTY_PROGRAMME_REFRESH_SECONDS=0.2)
    with other.app_context():
        assert programme_book().at(datetime.now(timezone.utc)).version == "default-2026.1"
    with app.app_context():
        row = store.draft(db.session, variant("gold-50", **GOLD_50), "toml", "test", datetime.now(timezone.utc))
        store.publish(db.session, row.id, "test", datetime.now(timezone.utc))
        db.session.commit()
    import time
    time.sleep(0.3)
    with other.app_context():
        now = datetime.now(timezone.utc)
        assert programme_book().at(now).version == "gold-50"
        assert programme_book().at(now - timedelta(minutes=5)).version == "default-2026.1"


def test_loyalty_programme_publishes_a_changed_file_from_now(app, app_factory, database_url, tmp_path):
    with app.app_context():
        programme_book()            # the default is stored as the first version
    path = tmp_path / "gold50.toml"
    path.write_text(variant("gold-50", **GOLD_50))
    changed = app_factory(database_url, LOYALTY_PROGRAMME=str(path))
    with changed.app_context():
        versions = store.published(db.session)
        assert [(row.label, row.published_by) for row in versions] == [("default-2026.1", "first start"),
                                                                       ("gold-50", "LOYALTY_PROGRAMME")]
        assert versions[1].effective_from > datetime.now(timezone.utc) - timedelta(minutes=1)
    again = app_factory(database_url, LOYALTY_PROGRAMME=str(path))       # the same file: nothing new
    with again.app_context():
        assert len(store.published(db.session)) == 2


def test_a_file_that_changes_the_currency_stops_the_service_at_start(app, app_factory, database_url, tmp_path):
    from loyalty.programme import ProgrammeFileError

    with app.app_context():
        programme_book()
    path = tmp_path / "usd.toml"
    path.write_text(variant("usd", **{'currency = "EUR"': 'currency = "USD"'}))
    with pytest.raises(ProgrammeFileError) as raised:
        app_factory(database_url, LOYALTY_PROGRAMME=str(path))
    assert any("currency: must stay EUR" in problem for problem in raised.value.problems)


def test_processes_starting_together_store_the_first_version_once(postgres_server, app_factory):
    """gunicorn's workers start at once on an empty table: one stores the file, none fails
    (a failed start of a worker stops all of gunicorn)."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy.orm import Session

    from loyalty.programmes import documents
    from tests.conftest import migrated_app

    url = postgres_server.create_database("ensure_race")
    app = migrated_app(app_factory, url)
    document = documents.read_file(None)
    for explicit in (False, True, False, True):
        with app.app_context():
            engine = db.engine

            def start(_):
                with Session(engine) as session:
                    stored = store.ensure(session, document, explicit, datetime.now(timezone.utc))
                    session.commit()
                    return stored is not None
            with ThreadPoolExecutor(6) as pool:
                assert sum(pool.map(start, range(6))) <= 1
            assert len(store.published(db.session)) == 1
            db.session.remove()
            engine.dispose()
