"""Tier review: spend that ages out of the 365-day window lowers a tier only here, and
only once the tier has been held for the hold period; the review then sets the tier
that qualifying spend earns (rules.review_tier decides; this reads and writes in batches)."""
from datetime import timedelta
from functools import partial

from sqlalchemy import BigInteger, Date, String, bindparam

from loyalty.applier.notices import priority_change
from loyalty.jobs.batches import CUTOFF, IDS, TODAY, keyset_ranges, lock_customers, sql
from loyalty.models.types import UTCDateTime
from loyalty.outbox import record as outbox
from loyalty.outbox.catalog import Notice
from loyalty.services.snapshots import standing_of
from rules import review_tier, window_start

HELD_BEFORE = bindparam("held_before", type_=UTCDateTime)

DUE = "(:everyone OR (tier <> :lowest AND (tier_since IS NULL OR tier_since <= :held_before)))"

NEXT = sql(f"""SELECT max(id) FROM (SELECT id FROM customers WHERE {DUE} AND id > :after
                                    ORDER BY id LIMIT :size) AS batch""", HELD_BEFORE)

CANDIDATES = sql(f"SELECT id FROM customers WHERE {DUE} AND id > :after AND id <= :upto ORDER BY id", HELD_BEFORE)

STANDINGS = sql("""
    SELECT c.id, c.tier, c.tier_since, c.lifetime_spend, c.tier_floor, c.floor_since, c.first_purchase_at,
           c.birthday, c.points_pending, c.points_available, CAST(COALESCE(SUM(b.amount), 0) AS BIGINT) AS qualifying
    FROM customers c LEFT JOIN spend_buckets b ON b.customer_id = c.id AND b.day >= :cutoff AND b.day <= :today
    WHERE c.id IN :ids
    GROUP BY c.id, c.tier, c.tier_since, c.lifetime_spend, c.tier_floor, c.floor_since, c.first_purchase_at,
             c.birthday, c.points_pending, c.points_available""", IDS, CUTOFF, TODAY
).columns(id=String, tier=String, tier_since=UTCDateTime, lifetime_spend=BigInteger, tier_floor=String,
          floor_since=UTCDateTime, first_purchase_at=UTCDateTime, birthday=Date, points_pending=BigInteger,
          points_available=BigInteger, qualifying=BigInteger)

UPDATE = sql("""UPDATE customers SET tier = :tier, tier_since = :since, tier_floor = :floor, floor_since = :floor_since
                WHERE id = :id""", bindparam("since", type_=UTCDateTime), bindparam("floor_since", type_=UTCDateTime))


REVIEWED = sql("INSERT INTO tier_reviews (customer_id, at, from_tier, to_tier) VALUES (:customer_id, :at, :from_tier, "
              ":to_tier)", bindparam("at", type_=UTCDateTime))


def _due(programme, now):
    policy = programme.tier_policy
    return {"lowest": programme.lowest_tier.name, "held_before": now - timedelta(days=policy.hold_days),
            "everyone": policy.upgrade == "at_review"}


ZERO = {"reviewed": 0, "changed": 0}


def ranges(session, programme, now, today, size):
    return keyset_ranges(session, NEXT, {**_due(programme, now), "size": size}, start="")


def apply(session, programme, now, today, after, upto):
    ids = session.execute(CANDIDATES, {**_due(programme, now), "after": after, "upto": upto}).scalars().all()
    lock_customers(session, ids)
    rows = session.execute(STANDINGS, {"ids": ids, "cutoff": window_start(programme, now), "today": today})
    changes, changed, notices = [], 0, []
    for row in rows:
        standing = standing_of(row, row.qualifying)
        change = review_tier(programme, standing, now)
        if change.changed or (change.floor, change.floor_since) != (row.tier_floor, row.floor_since):
            changes.append({"id": row.id, "tier": change.tier, "since": change.since, "floor": change.floor,
                            "floor_since": change.floor_since})
            changed += change.changed
        if change.changed:
            notices += [Notice("tier.changed", row.id, {"from": row.tier, "to": change.tier, "why": "review"}),
                        Notice("priority.changed", row.id, partial(priority_change, programme, row.tier, "tier", now))]
    if changes:
        session.execute(UPDATE, changes)
    if notices:     # the tier history: what the review changed (reports read it)
        session.execute(REVIEWED, [{"customer_id": n.customer_id, "at": now, "from_tier": n.data["from"],
                                    "to_tier": n.data["to"]} for n in notices if n.type == "tier.changed"])
    outbox.record(session, programme, notices, now)
    return {"reviewed": len(ids), "changed": changed}
