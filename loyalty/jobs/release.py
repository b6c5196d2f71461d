"""Release: points of a purchase become available on the date its return window ends
(14 days by default), whenever the job runs. Each order is released once: two ledger
entries (out of pending, into available, dated as a lot for expiry), the order marked
released, the customers' cached balances moved, all in one transaction per batch."""
from loyalty.jobs.batches import IDS, NOW, TODAY, lock_customers, sql

CANDIDATES = sql("""
    SELECT id FROM orders
    WHERE points_pending > 0 AND available_on <= :today AND released_at IS NULL AND id > :after
    ORDER BY id LIMIT :size""", TODAY)

ENTRIES = sql("""
    INSERT INTO ledger_entries (customer_id, order_id, kind, points, status, at, available_on, reason, rules,
                                programme_version, created_at)
    SELECT customer_id, id, 'release', :sign * points_pending, :status, :now, available_on,
           'Return window over for order ' || order_key, '[["release", 0]]', :version, :now
    FROM orders WHERE id IN :ids""", IDS, NOW)

BALANCES = sql("""
    UPDATE customers SET points_pending = customers.points_pending - moved.points,
                         points_available = customers.points_available + moved.points
    FROM (SELECT customer_id, SUM(points_pending) AS points FROM orders WHERE id IN :ids GROUP BY customer_id) AS moved
    WHERE customers.id = moved.customer_id""", IDS)

ORDERS = sql("UPDATE orders SET points_pending = 0, released_at = :now WHERE id IN :ids", IDS, NOW)

OWNERS = sql("SELECT DISTINCT customer_id FROM orders WHERE id IN :ids", IDS)
POINTS = sql("SELECT CAST(COALESCE(SUM(points_pending), 0) AS BIGINT) FROM orders WHERE id IN :ids", IDS)


def run(session, programme, batch, now, today, size):
    counts, batch.after = {"orders": 0, "points": 0}, 0
    while True:
        batch.start(session)
        ids = session.execute(CANDIDATES, {"today": today, "after": batch.after, "size": size}).scalars().all()
        if not ids:
            return counts
        lock_customers(session, session.execute(OWNERS, {"ids": ids}).scalars().all())
        points = session.execute(POINTS, {"ids": ids}).scalar_one()
        for sign, status in ((-1, "pending"), (1, "available")):
            session.execute(ENTRIES, {"ids": ids, "sign": sign, "status": status, "now": now,
                                      "version": programme.version})
        session.execute(BALANCES, {"ids": ids})
        session.execute(ORDERS, {"ids": ids, "now": now})
        counts["orders"] += len(ids)
        counts["points"] += int(points)
        batch.done(session, ids[-1])
