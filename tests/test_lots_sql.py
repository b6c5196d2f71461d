"""The SQL that applies the lots rule for speed, held against rules/lots.py on generated ledgers.

Two statements apply "points are used oldest lot first; what is left of a lot on its
expiry date expires" in SQL: the expiry job's REMAINING (loyalty/jobs/expiry.py) and, on
PostgreSQL, the balance statement's `first_lots` (loyalty/services/balances.py). Each is
run on random ledgers, written straight into the tables, and must agree with the rules
engine: what the job books per customer and date equals `expired_by`, run after run (an
earlier expiry is itself a debit); `first_lots` and the balance's `expiring` equal
`held_lots` and `expiring_soonest`. Runs once per backend.
"""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from loyalty.extensions import db
from loyalty.jobs import run_all
from loyalty.models import Customer, LedgerEntry
from loyalty.programme import current_programme
from loyalty.services import balances
from rules import Lot, expired_by, expiring_soonest, held_lots, points_by_date, remaining_lots
from rules.lots import oldest_first

START = date(2025, 3, 1)
AT = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
EXAMPLES = settings(max_examples=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Entries as (kind, points, status, day the points became available or None). Only available
# credits are lots; available debits use them up; pending entries count for neither.
pending = st.tuples(st.just("earn"), st.integers(-300, 300).filter(bool), st.just("pending"),
                    st.none() | st.integers(0, 30))


@st.composite
def ledgers(draw, most_lots):
    """One customer's entries in a random order: up to `most_lots` lots (often near that many)
    over 31 days (several a day, so ties on the date go by entry id), debits of up to a
    little more than the lots hold (often only a few), split in up to three, and a few
    pending entries."""
    count = draw(st.integers(0, most_lots) | st.integers(most_lots * 2 // 3, most_lots))
    lots = [("adjustment", points, "available", day) for points, day in draw(
        st.lists(st.tuples(st.integers(1, 300), st.integers(0, 30)), min_size=count, max_size=count))]
    spent = draw(st.integers(0, 150) | st.integers(0, sum(points for _, points, _, _ in lots) + 100))
    parts = draw(st.integers(1, 3))
    share = spent // parts
    debits = [(draw(st.sampled_from(["redemption", "clawback", "correction"])), -amount, "available", None)
              for amount in [share] * (parts - 1) + [spent - share * (parts - 1)] if amount]
    return draw(st.permutations(lots + debits + draw(st.lists(pending, max_size=3))))


def clean():
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()
    db.session.expunge_all()


def seed(customers, balance=None):
    """{customer id: entries}, written as they come (ids in that order). The cached balance
    is the ledger's available sum unless `balance` says otherwise."""
    rows = [{"customer_id": customer, "kind": kind, "points": points, "status": status, "at": AT,
             "available_on": None if day is None else START + timedelta(days=day), "reason": "seed", "rules": []}
            for customer, listed in customers.items() for kind, points, status, day in listed]
    for customer, listed in customers.items():
        available = sum(points for _, points, status, _ in listed if status == "available")
        db.session.add(Customer(id=customer, points_available=available if balance is None else balance))
    db.session.flush()
    if rows:
        db.session.execute(insert(LedgerEntry), rows)
    db.session.commit()


def lots_and_debits(customer_id):
    """What the rules engine is given: the customer's lots and the points debited, read from the ledger."""
    found = db.session.execute(select(LedgerEntry.id, LedgerEntry.available_on, LedgerEntry.points)
                               .where(LedgerEntry.customer_id == customer_id,
                                      LedgerEntry.status == "available")).all()
    db.session.commit()
    lots = [Lot(entry_id, on, points) for entry_id, on, points in found if points > 0]
    return lots, -sum(points for _, _, points in found if points < 0)


def booked_expiries(after_id):
    """{(customer, date became available): points} of the expiry entries written after `after_id`."""
    found = db.session.execute(select(LedgerEntry.customer_id, LedgerEntry.available_on, LedgerEntry.points,
                                      LedgerEntry.status)
                               .where(LedgerEntry.kind == "expiry", LedgerEntry.id > after_id)).all()
    db.session.commit()
    assert all(status == "available" and points < 0 for _, _, points, status in found)
    booked = {}
    for customer, on, points, _ in found:
        assert (customer, on) not in booked, "one expiry entry per customer and date"
        booked[(customer, on)] = -points
    return booked


def last_entry_id():
    found = db.session.scalar(select(func.coalesce(func.max(LedgerEntry.id), 0)))
    db.session.commit()
    return found


def noon(programme, day):
    """A moment on `day` in the programme's zone."""
    return datetime.combine(day, time(12), ZoneInfo(programme.timezone))


def test_the_expiry_job_expires_what_the_rules_say(app):
    """Up to three customers with random lots, debits and pending entries; the job runs on
    two days (the second one the same or later, in batches of 1 to 3 customers). Each
    run books, per customer and date, exactly `expired_by` of the ledger as it was before
    the run, and takes it off the cached balance."""
    with app.app_context():
        programme = current_programme()

        @EXAMPLES
        @given(st.dictionaries(st.sampled_from(["c-a", "c-b", "c-c"]), ledgers(12), min_size=1),
               st.integers(-2, 35), st.integers(0, 35), st.integers(1, 3))
        def check(customers, first_day, later_by, size):
            clean()
            seed(customers)
            first = START + timedelta(days=programme.expiry_days + first_day)
            for today in (first, first + timedelta(days=later_by)):
                before = {customer: lots_and_debits(customer) for customer in customers}
                cached = {customer: db.session.get(Customer, customer).points_available for customer in customers}
                db.session.commit()
                expected = {(customer, on): points for customer, (lots, debited) in before.items()
                            for on, points in expired_by(programme, lots, debited, today).items()}
                last_id = last_entry_id()
                counts = run_all(noon(programme, today), only={"expiry"}, size=size)["expiry"]
                assert booked_expiries(last_id) == expected
                assert counts == {"customers": len({customer for customer, _ in expected}),
                                  "points": sum(expected.values())}
                for customer in customers:
                    taken = sum(points for (who, _), points in expected.items() if who == customer)
                    assert db.session.get(Customer, customer).points_available == cached[customer] - taken
                db.session.commit()

        check()


@st.composite
def balance_ledgers(draw):
    """One customer's ledger with up to 75 lots (so often past the first page of 50) and a
    cached balance: usually the ledger's available sum (None), sometimes any number (zero,
    below zero, more than the lots hold)."""
    listed = draw(ledgers(75))
    credits = sum(points for _, points, status, _ in listed if status == "available" and points > 0)
    return listed, draw(st.none() | st.none() | st.integers(-200, credits + 300))


def test_the_balance_lots_agree_with_the_rules(app, backend):
    """The balance's `expiring` (paging through the newest lots) equals `expiring_soonest`
    of `held_lots` over every lot, and, with the cached balance equal to the ledger, what
    the expiry rule leaves (`remaining_lots`). On PostgreSQL, `first_lots` (the balance
    statement's SQL over the newest page of 50) equals `held_lots` of that page."""
    with app.app_context():
        programme = current_programme()

        @EXAMPLES
        @given(balance_ledgers())
        def check(ledger):
            listed, balance = ledger
            clean()
            seed({"c-1": listed}, balance)
            lots, debited = lots_and_debits("c-1")
            cached = db.session.get(Customer, "c-1").points_available
            db.session.commit()
            newest_first = list(reversed(oldest_first(lots)))
            expected = [{"points": points, "on": on.isoformat()}
                        for on, points in expiring_soonest(programme, held_lots(newest_first, cached))]
            if balance is None:
                assert expected == [{"points": points, "on": on.isoformat()} for on, points in
                                    expiring_soonest(programme, points_by_date(remaining_lots(lots, debited)))]

            row = balances.read_standing(programme, "c-1", AT, lots=True)
            assert balances.expiring(programme, row) == expected
            if backend == "postgresql":
                page = held_lots(newest_first[:balances.LOTS_PER_READ], cached)
                if cached <= 0:
                    assert row.first_lots is None
                else:
                    assert row.first_lots["held"] == sum(page.values())
                    assert all(type(points) is int for _, points in row.first_lots["groups"] or [[0, 0]])
                    assert type(row.first_lots["held"]) is int
                    assert [(date.fromisoformat(on), points) for on, points in row.first_lots["groups"] or []] == \
                        sorted(page.items())
            else:
                assert "first_lots" not in row._fields
            db.session.rollback()

        check()
