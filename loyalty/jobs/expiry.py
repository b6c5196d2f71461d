"""Expiry: available points expire `expiry_days` (365) after the date they became
available, oldest first. Every credit to available points (a release, goodwill, a
positive correction) is a lot dated by its `available_on`; spending, clawbacks and
earlier expiries use up the oldest lots first. What is left of a lot on its expiry date
expires as an `expiry` entry. That entry is itself a debit, so running again finds nothing.
Batches are keyset ranges of customer ids. The rule itself is rules/lots.py (`expired_by`);
this SQL is its set-based form, held to it by tests/test_lots_sql.py."""
from datetime import timedelta

from sqlalchemy import BigInteger, Date, String

from loyalty.jobs.batches import CUTOFF, NOW, keyset_ranges, lock_customers_where, sql
from loyalty.outbox import record as outbox
from loyalty.outbox.catalog import Notice

RANGE = "customer_id > :after AND customer_id <= :upto"

NEXT = sql("""
    SELECT max(customer_id) FROM (
        SELECT DISTINCT customer_id FROM ledger_entries
        WHERE status = 'available' AND points > 0 AND available_on <= :cutoff AND customer_id > :after
        ORDER BY customer_id LIMIT :size) AS batch""", CUTOFF)

REMAINING = f"""
    WITH credits AS (
        SELECT customer_id, available_on, points,
               SUM(points) OVER (PARTITION BY customer_id ORDER BY available_on, id) AS upto_here
        FROM ledger_entries WHERE {RANGE} AND status = 'available' AND points > 0),
    debits AS (
        SELECT customer_id, -SUM(points) AS spent FROM ledger_entries
        WHERE {RANGE} AND status = 'available' AND points < 0 GROUP BY customer_id),
    remaining AS (
        SELECT c.customer_id, c.available_on,
               CAST(SUM(CASE WHEN c.upto_here - COALESCE(d.spent, 0) < c.points
                             THEN c.upto_here - COALESCE(d.spent, 0) ELSE c.points END) AS BIGINT) AS points
        FROM credits c LEFT JOIN debits d ON d.customer_id = c.customer_id
        WHERE c.available_on <= :cutoff AND c.upto_here - COALESCE(d.spent, 0) > 0
        GROUP BY c.customer_id, c.available_on)"""

ENTRIES = sql(REMAINING + """
    INSERT INTO ledger_entries (customer_id, kind, points, status, at, available_on, reason, rules,
                                programme_version, created_at, source)
    SELECT customer_id, 'expiry', -points, 'available', :now, available_on,
           'Points available since ' || available_on || ' expired', '[["expiry", 0]]', :version, :now, 'jobs'
    FROM remaining""", CUTOFF, NOW)

BALANCES = sql(f"""
    UPDATE customers SET points_available = customers.points_available + expired.points
    FROM (SELECT customer_id, SUM(points) AS points FROM ledger_entries
          WHERE {RANGE} AND kind = 'expiry' AND id > :last_id GROUP BY customer_id) AS expired
    WHERE customers.id = expired.customer_id""")

TOTALS = sql(f"""SELECT count(DISTINCT customer_id), CAST(COALESCE(-SUM(points), 0) AS BIGINT) FROM ledger_entries
                WHERE {RANGE} AND kind = 'expiry' AND id > :last_id""")

LAST_ID = sql("SELECT COALESCE(max(id), 0) FROM ledger_entries")

EXPIRED = sql(f"""SELECT customer_id, -points AS points, available_on FROM ledger_entries
                 WHERE {RANGE} AND kind = 'expiry' AND id > :last_id ORDER BY id""").columns(
    customer_id=String, points=BigInteger, available_on=Date)


def _cutoff(programme, today):
    return today - timedelta(days=programme.expiry_days)


ZERO = {"customers": 0, "points": 0}


def ranges(session, programme, now, today, size):
    return keyset_ranges(session, NEXT, {"cutoff": _cutoff(programme, today), "size": size}, start="")


def apply(session, programme, now, today, after, upto):
    window = {"after": after, "upto": upto}
    lock_customers_where(session, "SELECT id FROM customers WHERE id > :after AND id <= :upto", window)
    last_id = session.execute(LAST_ID).scalar()     # under the locks: newer expiry rows are this range's
    session.execute(ENTRIES, {**window, "cutoff": _cutoff(programme, today), "now": now,
                              "version": programme.version})
    session.execute(BALANCES, {**window, "last_id": last_id})
    customers, points = session.execute(TOTALS, {**window, "last_id": last_id}).one()
    if customers and outbox.wanted(session, "points.expired"):
        outbox.record(session, programme, [
            Notice("points.expired", row.customer_id, {"points": int(row.points), "available_since": row.available_on,
                                                       "expired_on": today})
            for row in session.execute(EXPIRED, {**window, "last_id": last_id})], now)
    return {"customers": customers, "points": int(points)}
