"""Release: points of a purchase become available on the date its return window ends
(14 days by default), whenever the job runs. Each order is released once: two ledger
entries (out of pending, into available, dated as a lot for expiry), the order marked
released, the customers' cached balances moved, a `points.available` event out per order
when an endpoint takes it, in one transaction per range of order ids."""
from loyalty.jobs.batches import NOW, TODAY, keyset_ranges, lock_customers_where, sql
from loyalty.outbox import record as outbox
from loyalty.outbox.catalog import Notice

DUE = "points_pending > 0 AND available_on <= :today AND released_at IS NULL"
IN_RANGE = f"{DUE} AND id > :after AND id <= :upto"

NEXT = sql(f"""SELECT max(id) FROM (SELECT id FROM orders WHERE {DUE} AND id > :after
                                    ORDER BY id LIMIT :size) AS batch""", TODAY)

ENTRIES = sql(f"""
    INSERT INTO ledger_entries (customer_id, order_id, kind, points, status, at, available_on, reason, rules,
                                programme_version, created_at, source)
    SELECT customer_id, id, 'release', :sign * points_pending, :status, :now, available_on,
           'Return window over for order ' || order_key, '[["release", 0]]', :version, :now, 'jobs'
    FROM orders WHERE {IN_RANGE}""", NOW, TODAY)

BALANCES = sql(f"""
    UPDATE customers SET points_pending = customers.points_pending - moved.points,
                         points_available = customers.points_available + moved.points
    FROM (SELECT customer_id, SUM(points_pending) AS points FROM orders WHERE {IN_RANGE}
          GROUP BY customer_id) AS moved
    WHERE customers.id = moved.customer_id""", TODAY)

TOTALS = sql(f"SELECT count(*), CAST(COALESCE(SUM(points_pending), 0) AS BIGINT) FROM orders WHERE {IN_RANGE}",
             TODAY)

ORDERS = sql(f"UPDATE orders SET points_pending = 0, released_at = :now WHERE {IN_RANGE}", NOW, TODAY)

RELEASED = sql(f"SELECT customer_id, order_key, points_pending, available_on FROM orders WHERE {IN_RANGE} ORDER BY id",
               TODAY)


ZERO = {"orders": 0, "points": 0}


def ranges(session, programme, now, today, size):
    return keyset_ranges(session, NEXT, {"today": today, "size": size}, start=0)


def apply(session, programme, now, today, after, upto):
    window = {"today": today, "after": after, "upto": upto}
    lock_customers_where(session, f"SELECT customer_id FROM orders WHERE {IN_RANGE}", window, TODAY)
    orders, points = session.execute(TOTALS, window).one()
    for sign, status in ((-1, "pending"), (1, "available")):
        session.execute(ENTRIES, {**window, "sign": sign, "status": status, "now": now, "version": programme.version})
    released = session.execute(RELEASED, window).all() if outbox.wanted(session, "points.available") else ()
    session.execute(BALANCES, window)
    session.execute(ORDERS, {**window, "now": now})
    outbox.record(session, programme, [
        Notice("points.available", row.customer_id, {"order_id": row.order_key, "points": int(row.points_pending),
                                                     "available_on": row.available_on}) for row in released], now)
    return {"orders": orders, "points": int(points)}
