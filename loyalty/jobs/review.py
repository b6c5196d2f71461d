"""Tier review: spend that ages out of the 365-day window lowers a tier only here, and
only once the tier has been held for the hold period; the review then sets the tier
that qualifying spend earns (rules.review_tier decides; this reads and writes in batches)."""
from datetime import timedelta

from sqlalchemy import BigInteger, String, bindparam

from loyalty.jobs.batches import CUTOFF, IDS, NOW, TODAY, lock_customers, sql
from loyalty.models.types import UTCDateTime
from rules import Standing, review_tier, window_start

HELD_BEFORE = bindparam("held_before", type_=UTCDateTime)

CANDIDATES = sql("""
    SELECT id FROM customers
    WHERE id > :after AND (:everyone OR (tier <> :lowest AND (tier_since IS NULL OR tier_since <= :held_before)))
    ORDER BY id LIMIT :size""", HELD_BEFORE)

STANDINGS = sql("""
    SELECT c.id, c.tier, c.tier_since, c.lifetime_spend, c.tier_floor, c.floor_since,
           CAST(COALESCE(SUM(b.amount), 0) AS BIGINT) AS qualifying
    FROM customers c LEFT JOIN spend_buckets b ON b.customer_id = c.id AND b.day >= :cutoff AND b.day <= :today
    WHERE c.id IN :ids
    GROUP BY c.id, c.tier, c.tier_since, c.lifetime_spend, c.tier_floor, c.floor_since""", IDS, CUTOFF, TODAY
).columns(id=String, tier=String, tier_since=UTCDateTime, lifetime_spend=BigInteger, tier_floor=String,
          floor_since=UTCDateTime, qualifying=BigInteger)

UPDATE = sql("""UPDATE customers SET tier = :tier, tier_since = :since, tier_floor = :floor, floor_since = :floor_since
                WHERE id = :id""", bindparam("since", type_=UTCDateTime), bindparam("floor_since", type_=UTCDateTime))


def run(session, programme, batch, now, today, size):
    policy = programme.tier_policy
    counts, batch.after = {"reviewed": 0, "changed": 0}, ""
    held_before = now - timedelta(days=policy.hold_days)
    while True:
        batch.start(session)
        ids = session.execute(CANDIDATES, {"after": batch.after, "size": size, "lowest": programme.lowest_tier.name,
                                           "held_before": held_before,
                                           "everyone": policy.upgrade == "at_review"}).scalars().all()
        if not ids:
            return counts
        lock_customers(session, ids)
        rows = session.execute(STANDINGS, {"ids": ids, "cutoff": window_start(programme, now), "today": today})
        changes = []
        for row in rows:
            standing = Standing(tier=row.tier, tier_since=row.tier_since, qualifying_spend=row.qualifying,
                                lifetime_spend=row.lifetime_spend, tier_floor=row.tier_floor,
                                floor_since=row.floor_since)
            change = review_tier(programme, standing, now)
            if change.changed or (change.floor, change.floor_since) != (row.tier_floor, row.floor_since):
                changes.append({"id": row.id, "tier": change.tier, "since": change.since, "floor": change.floor,
                                "floor_since": change.floor_since})
                counts["changed"] += change.changed
        if changes:
            session.execute(UPDATE, changes)
        counts["reviewed"] += len(ids)
        batch.done(session, ids[-1])
