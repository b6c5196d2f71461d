"""`loyalty programme apply`: the ladder of the version in force now applied to every
customer at once (rules.tiers.tier_under_version decides), instead of at each customer's
next purchase, refund or review. In batches of customers, each batch its own transaction;
each change is in the tier history (as a review's is) and sends `tier.changed`."""
from functools import partial

from sqlalchemy import select

from loyalty.applier.notices import priority_change
from loyalty.jobs.batches import keyset_ranges, lock_customers, sql
from loyalty.jobs.review import REVIEWED, STANDINGS, UPDATE
from loyalty.models import Customer
from loyalty.outbox import record as outbox
from loyalty.outbox.catalog import Notice
from loyalty.services.snapshots import standing_of
from rules import local_date, window_start
from rules.tiers import tier_under_version

NEXT = sql("SELECT max(id) FROM (SELECT id FROM customers WHERE id > :after ORDER BY id LIMIT :size) AS batch")


def _batch(session, programme, now, after, upto, dry_run):
    ids = session.scalars(select(Customer.id).where(Customer.id > after, Customer.id <= upto)
                          .order_by(Customer.id)).all()
    lock_customers(session, ids)
    rows = session.execute(STANDINGS, {"ids": ids, "cutoff": window_start(programme, now),
                                       "today": local_date(programme, now)})
    changes, notices, moved = [], [], {}
    for row in rows:
        change = tier_under_version(programme, standing_of(row, row.qualifying), now)
        if change.changed or (change.floor, change.floor_since) != (row.tier_floor, row.floor_since):
            changes.append({"id": row.id, "tier": change.tier, "since": change.since, "floor": change.floor,
                            "floor_since": change.floor_since})
        if change.changed:
            key = f"{row.tier} -> {change.tier}"
            moved[key] = moved.get(key, 0) + 1
            notices += [Notice("tier.changed", row.id, {"from": row.tier, "to": change.tier, "why": "programme"}),
                        Notice("priority.changed", row.id, partial(priority_change, programme, row.tier, "tier", now))]
    if changes and not dry_run:
        session.execute(UPDATE, changes)
        reviewed = [{"customer_id": n.customer_id, "at": now, "from_tier": n.data["from"], "to_tier": n.data["to"]}
                    for n in notices if n.type == "tier.changed"]
        if reviewed:
            session.execute(REVIEWED, reviewed)
        outbox.record(session, programme, notices, now)
    return len(ids), moved


def apply_now(session, programme, now, dry_run=False, size=5000):
    """Every customer under `programme`'s ladder; answers {"customers", "changed", "moved": {"a -> b": n}}."""
    total, moved = 0, {}
    for after, upto in keyset_ranges(session, NEXT, {"size": size}, start=""):
        customers, found = _batch(session, programme, now, after, upto, dry_run)
        total += customers
        for key, count in found.items():
            moved[key] = moved.get(key, 0) + count
        session.rollback() if dry_run else session.commit()
    return {"customers": total, "changed": sum(moved.values()), "moved": dict(sorted(moved.items())),
            "dry_run": dry_run, "version": programme.version}
