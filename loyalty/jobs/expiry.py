"""Expiry: available points expire `expiry_days` (365) after the date they became
available, oldest first. Every credit to available points (a release, goodwill, a
positive correction) is a lot dated by its `available_on`; spending, clawbacks and
earlier expiries use up the oldest lots first. What is left of a lot on its expiry date
expires as an `expiry` entry. That entry is itself a debit, so running again finds nothing."""
from datetime import timedelta

from sqlalchemy import BigInteger, Date, String

from loyalty.jobs.batches import AVAILABLE_ON, CUTOFF, IDS, NOW, lock_customers, sql

CUSTOMERS = sql("""
    SELECT DISTINCT customer_id FROM ledger_entries
    WHERE status = 'available' AND points > 0 AND available_on <= :cutoff AND customer_id > :after
    ORDER BY customer_id LIMIT :size""", CUTOFF)

REMAINING = sql("""
    WITH credits AS (
        SELECT customer_id, available_on, points,
               SUM(points) OVER (PARTITION BY customer_id ORDER BY available_on, id) AS upto
        FROM ledger_entries
        WHERE customer_id IN :ids AND status = 'available' AND points > 0),
    debits AS (
        SELECT customer_id, -SUM(points) AS spent FROM ledger_entries
        WHERE customer_id IN :ids AND status = 'available' AND points < 0 GROUP BY customer_id)
    SELECT c.customer_id, c.available_on,
           CAST(SUM(CASE WHEN c.upto - COALESCE(d.spent, 0) < c.points THEN c.upto - COALESCE(d.spent, 0)
                         ELSE c.points END) AS BIGINT) AS points
    FROM credits c LEFT JOIN debits d ON d.customer_id = c.customer_id
    WHERE c.available_on <= :cutoff AND c.upto - COALESCE(d.spent, 0) > 0
    GROUP BY c.customer_id, c.available_on""", IDS, CUTOFF).columns(customer_id=String, available_on=Date,
                                                                 points=BigInteger)

ENTRY = sql("""
    INSERT INTO ledger_entries (customer_id, kind, points, status, at, available_on, reason, rules,
                                programme_version, created_at)
    VALUES (:customer_id, 'expiry', :points, 'available', :now, :available_on, :reason, '[["expiry", 0]]',
            :version, :now)""", NOW, AVAILABLE_ON)

BALANCE = sql("UPDATE customers SET points_available = points_available - :points WHERE id = :customer_id")


def run(session, programme, batch, now, today, size):
    cutoff = today - timedelta(days=programme.expiry_days)
    counts, batch.after = {"customers": 0, "points": 0}, ""
    while True:
        batch.start(session)
        ids = session.execute(CUSTOMERS, {"cutoff": cutoff, "after": batch.after, "size": size}).scalars().all()
        if not ids:
            return counts
        lock_customers(session, ids)
        lots = session.execute(REMAINING, {"ids": ids, "cutoff": cutoff}).all()
        if lots:
            session.execute(ENTRY, [
                {"customer_id": customer_id, "points": -points, "now": now, "available_on": lot_date,
                 "reason": f"Points available since {lot_date} expired", "version": programme.version}
                for customer_id, lot_date, points in lots])
            totals = {}
            for customer_id, _, points in lots:
                totals[customer_id] = totals.get(customer_id, 0) + points
            session.execute(BALANCE, [{"customer_id": c, "points": p} for c, p in totals.items()])
            counts["customers"] += len(totals)
            counts["points"] += sum(totals.values())
        batch.done(session, ids[-1])
