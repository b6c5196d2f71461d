"""The birthday gift through the real paths: birthdays set by the API, a purchase or an
import; `loyalty jobs run --now DAY` gives the gift once on the day (in the programme's time
zone), not again on a re-run, not after a recent change of birthday, again a year later,
never without `[birthday_gift]`; the history shows it with its reason."""
import json
import threading
from calendar import isleap
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from loyalty.extensions import db
from loyalty.models import Customer, LedgerEntry
from tests import state
from tests.api import bearer, make_key, token
from tests.webhooks import deliver_shop, purchase

DAY = timedelta(days=1)
TODAY = datetime.now(timezone.utc).date()
REASON = "Birthday gift (birthday-gift): 250 points"
GIFT = '\n[birthday_gift]\nid = "birthday-gift"\npoints = 250\nrecent_change_days = 30\n'
DEFAULT = Path(__file__).resolve().parents[1] / "rules" / "default_programme.toml"


def programme_file(tmp_path, zone="UTC", gift=GIFT):
    path = tmp_path / "programme.toml"
    path.write_text(DEFAULT.read_text().replace('timezone = "UTC"', f'timezone = "{zone}"') + gift)
    return str(path)


@pytest.fixture
def gift_app(app, app_factory, database_url, tmp_path):
    """The app with the gift on (`app` is asked for so its cleanup empties the database after)."""
    return app_factory(database_url, LOYALTY_PROGRAMME=programme_file(tmp_path))


def jobs(app, now, *extra):
    """`loyalty jobs run --now NOW --yes` (NOW a date or a date-time); answers the counts."""
    result = app.test_cli_runner().invoke(args=["jobs", "run", "--now", now.isoformat(), "--yes", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])["jobs"]


def enrol(app, customer_id, birthday):
    shop = make_key(app.test_cli_runner(), "shop")
    answer = app.test_client().put(f"/v1/customers/{customer_id}", json={"birthday": birthday.isoformat()},
                                   headers=bearer(shop))
    assert answer.status_code in (200, 201), answer.get_json()


def born_on(day, year=1990):
    """A birthday celebrated on `day` (29 February when `day` is one)."""
    return date(2000 if (day.month, day.day) == (2, 29) else year, day.month, day.day)


def gifts(app, customer_id):
    with app.app_context():
        return [(e.points, e.available_on, e.reason) for e in db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.customer_id == customer_id, LedgerEntry.kind == "birthday")
            .order_by(LedgerEntry.id))]


def set_at(app, customer_id):
    with app.app_context():
        return db.session.get(Customer, customer_id).birthday_set_at


def test_the_gift_is_given_once_on_the_day_and_shows_in_the_history(gift_app):
    day = TODAY + 40 * DAY                              # set today: more than 30 days before
    enrol(gift_app, "c-1", born_on(day))
    enrol(gift_app, "c-2", born_on(day + DAY))         # tomorrow's birthday
    counts = jobs(gift_app, day)
    assert counts["birthday"] == {"customers": 1, "points": 250}
    assert gifts(gift_app, "c-1") == [(250, day, REASON)] and gifts(gift_app, "c-2") == []
    assert state.customer(gift_app, "c-1")["available"] == 250
    assert state.ledger_sum(gift_app, "c-1") == {"pending": 0, "available": 250}

    again = jobs(gift_app, datetime.combine(day, time(18), timezone.utc))     # the same day, later
    assert again["birthday"] == {"customers": 0, "points": 0}
    assert len(gifts(gift_app, "c-1")) == 1 and state.customer(gift_app, "c-1")["available"] == 250

    client = gift_app.test_client()
    history = client.get("/v1/customers/c-1/transactions", headers=bearer(token("c-1"))).get_json()
    [entry] = history["entries"]
    assert entry == {"id": entry["id"], "kind": "birthday", "points": 250, "status": "available",
                     "at": entry["at"], "order_id": None, "reason": REASON, "rules": ["birthday-gift"],
                     "programme_version": "default-2026.1", "by": None, "source": "jobs"}
    balance = client.get("/v1/customers/c-1/balance", headers=bearer(token("c-1"))).get_json()["points"]
    assert balance["available"] == 250                  # available at once, expiring a year on like goodwill
    assert balance["expiring"] == [{"points": 250, "on": (day + 365 * DAY).isoformat()}]
    assert gift_app.test_cli_runner().invoke(args=["reconcile"]).exit_code == 0


def test_granted_again_a_year_later(gift_app):
    day = TODAY + 40 * DAY
    enrol(gift_app, "c-1", born_on(day))
    jobs(gift_app, day)
    next_year = day.replace(year=day.year + 1) if (day.month, day.day) != (2, 29) else date(day.year + 1, 2, 28)
    assert jobs(gift_app, next_year - DAY)["birthday"]["customers"] == 0
    assert jobs(gift_app, next_year)["birthday"] == {"customers": 1, "points": 250}
    assert [on for _, on, _ in gifts(gift_app, "c-1")] == [day, next_year]


def test_not_for_a_birthday_set_or_changed_in_the_last_30_days(gift_app):
    enrol(gift_app, "c-new", born_on(TODAY + 10 * DAY))       # set today, the birthday 10 days on
    enrol(gift_app, "c-old", born_on(TODAY + 50 * DAY))
    with gift_app.app_context():                               # c-old's birthday from before this rule
        db.session.execute(update(Customer).where(Customer.id == "c-old").values(birthday_set_at=None))
        db.session.commit()
    enrol(gift_app, "c-old", born_on(TODAY + 50 * DAY))        # the same birthday again: no change
    assert set_at(gift_app, "c-old") is None
    enrol(gift_app, "c-old", born_on(TODAY + 10 * DAY))        # changed today to a birthday 10 days on
    assert set_at(gift_app, "c-old") is not None
    assert jobs(gift_app, TODAY + 10 * DAY)["birthday"] == {"customers": 0, "points": 0}
    assert gifts(gift_app, "c-new") == gifts(gift_app, "c-old") == []
    next_year = TODAY + 10 * DAY + 365 * DAY
    while (next_year.month, next_year.day) != ((TODAY + 10 * DAY).month, (TODAY + 10 * DAY).day):
        next_year += DAY                                       # a year on: long enough since the change
    assert jobs(gift_app, next_year)["birthday"]["customers"] == 2


def test_a_birthday_unknown_since_before_this_rule_counts_as_set_long_ago(gift_app):
    enrol(gift_app, "c-1", born_on(TODAY + DAY))
    assert jobs(gift_app, TODAY + DAY)["birthday"]["customers"] == 0      # set today
    with gift_app.app_context():
        db.session.execute(update(Customer).values(birthday_set_at=None))
        db.session.commit()
    assert jobs(gift_app, TODAY + DAY)["birthday"]["customers"] == 1


def test_a_purchase_sets_the_birthday_and_records_when_only_when_it_changes(gift_app):
    client = gift_app.test_client()
    birthday = born_on(TODAY + 20 * DAY)
    assert deliver_shop(client, purchase(customer="c-1", order="o-1", amount=1000,
                                         birthday=birthday.isoformat())) == "processed"
    first = set_at(gift_app, "c-1")
    assert first is not None
    assert deliver_shop(client, purchase(customer="c-1", order="o-2", amount=1000,
                                         birthday=birthday.isoformat())) == "processed"
    assert set_at(gift_app, "c-1") == first                   # the same birthday again
    assert deliver_shop(client, purchase(customer="c-1", order="o-3", amount=1000)) == "processed"
    assert set_at(gift_app, "c-1") == first                   # none given: kept
    assert deliver_shop(client, purchase(customer="c-1", order="o-4", amount=1000,
                                         birthday=born_on(TODAY + 21 * DAY).isoformat())) == "processed"
    assert set_at(gift_app, "c-1") > first
    assert jobs(gift_app, TODAY + 21 * DAY)["birthday"]["customers"] == 0     # changed 21 days before


def test_no_gift_without_birthday_gift_in_the_programme(app):
    day = TODAY + 40 * DAY
    enrol(app, "c-1", born_on(day))
    assert jobs(app, day)["birthday"] == {"customers": 0, "points": 0}
    assert gifts(app, "c-1") == [] and state.customer(app, "c-1")["available"] == 0


@pytest.fixture
def auckland(database_url, app_factory, tmp_path):
    """The gift on, in Auckland's time zone: the database's first programme version (a later
    version may not change the time zone), the database emptied after as `app` does."""
    made = app_factory(database_url, LOYALTY_PROGRAMME=programme_file(tmp_path, "Pacific/Auckland"))
    yield made
    with made.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


def test_the_day_is_the_programme_time_zones(auckland):
    """Auckland is 12 or 13 hours ahead: 21:00 UTC is already the next day there."""
    utc_day = TODAY + 40 * DAY
    local_day = utc_day + DAY
    enrol(auckland, "c-local", born_on(local_day))
    enrol(auckland, "c-utc", born_on(utc_day))
    moment = datetime.combine(utc_day, time(21), timezone.utc)
    assert moment.astimezone(ZoneInfo("Pacific/Auckland")).date() == local_day
    assert jobs(auckland, moment)["birthday"]["customers"] == 1
    assert gifts(auckland, "c-local") == [(250, local_day, REASON)] and gifts(auckland, "c-utc") == []


def _next_feb(leap, after):
    year = after.year + 1
    while isleap(year) != leap or date(year, 2, 28) < after:
        year += 1
    return year


def test_29_february_is_celebrated_on_28_february_in_other_years(gift_app):
    enrol(gift_app, "c-leap", date(2000, 2, 29))
    enrol(gift_app, "c-28", date(1990, 2, 28))
    plain = _next_feb(False, TODAY + 31 * DAY)
    assert jobs(gift_app, date(plain, 2, 27))["birthday"]["customers"] == 0
    assert jobs(gift_app, date(plain, 2, 28))["birthday"]["customers"] == 2
    assert jobs(gift_app, date(plain, 3, 1))["birthday"]["customers"] == 0
    leap = _next_feb(True, date(plain, 3, 2))
    assert jobs(gift_app, date(leap, 2, 28))["birthday"] == {"customers": 1, "points": 250}     # c-28 only
    assert jobs(gift_app, date(leap, 2, 29))["birthday"] == {"customers": 1, "points": 250}     # c-leap
    assert [on for _, on, _ in gifts(gift_app, "c-leap")] == [date(plain, 2, 28), date(leap, 2, 29)]
    assert [on for _, on, _ in gifts(gift_app, "c-28")] == [date(plain, 2, 28), date(leap, 2, 28)]


def test_an_import_counts_as_setting_the_birthday_and_its_history_gives_no_gift(gift_app, tmp_path):
    from loyalty.jobs import run_all
    day = TODAY + 10 * DAY
    path = tmp_path / "customers.csv"
    path.write_text(f"id,email,birthday,stripe_customer_id\nc-1,,{born_on(day).isoformat()},\n")
    result = gift_app.test_cli_runner().invoke(args=["import", "customers", str(path)])
    assert result.exit_code == 0, result.output
    assert set_at(gift_app, "c-1") is not None
    assert jobs(gift_app, day)["birthday"]["customers"] == 0                  # imported 10 days before
    with gift_app.app_context():
        db.session.execute(update(Customer).values(birthday_set_at=None))
        db.session.commit()
        assert "birthday" not in run_all(datetime.combine(day, time(), timezone.utc), events_out=False)
    assert gifts(gift_app, "c-1") == []                                        # an import's run: no gift
    assert jobs(gift_app, day)["birthday"]["customers"] == 1                   # the daily run: the gift


def test_ranges_side_by_side_and_run_twice_at_once_give_each_gift_once(gift_app, backend):
    from loyalty.jobs import birthday
    from loyalty.programme import current_programme
    from loyalty.services.customers import begin_write
    day = TODAY + 40 * DAY
    for n in range(7):
        enrol(gift_app, f"c-{n}", born_on(day, 1980 + n))
    now = datetime.combine(day, time(), timezone.utc)
    results, failures = [], []

    def run_range():
        try:
            with gift_app.app_context():
                begin_write()
                results.append(birthday.apply(db.session, current_programme(), now, day, "c-0", "c-5"))
                db.session.commit()
                db.session.remove()
        except Exception as error:      # pragma: no cover - shown by the assert below
            failures.append(error)

    threads = [threading.Thread(target=run_range) for _ in range(2)]      # the same range, twice at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(r["customers"] for r in results) == [0, 5]              # c-1 .. c-5, once
    counts = jobs(gift_app, day, "--batch-size", "2", "--workers", "2")   # ranges of 2, side by side on PostgreSQL
    assert counts["birthday"] == {"customers": 2, "points": 500}           # c-0 and c-6 were left
    assert jobs(gift_app, day, "--batch-size", "2")["birthday"]["customers"] == 0
    assert all(len(gifts(gift_app, f"c-{n}")) == 1 for n in range(7))
    assert gift_app.test_cli_runner().invoke(args=["reconcile"]).exit_code == 0


def test_the_gift_sends_points_adjusted_like_goodwill(gift_app):
    from tests.receiver import Receiver
    from tests.test_events_out import register
    from loyalty.worker import send_due
    receiver = Receiver()
    try:
        _, secret = register(gift_app, receiver.url, "--events", "points.adjusted")
        day = TODAY + 40 * DAY
        enrol(gift_app, "c-1", born_on(day))
        jobs(gift_app, day)
        jobs(gift_app, day)
        send_due(gift_app)
        [event] = [e for e in receiver.events(secret) if e["type"] == "points.adjusted"]
        assert event["customer_id"] == "c-1"
        assert event["data"] == {"points": 250, "reason": REASON, "by": None,
                                 "entry_id": event["data"]["entry_id"]}
        assert event["balance"]["points"]["available"] == 250
    finally:
        receiver.close()
