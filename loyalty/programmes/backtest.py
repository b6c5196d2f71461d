"""Backtest: the stored purchases of a period, and the refunds of those purchases, replayed
in memory under a version and under the live one, side by side. Nothing is written.

Each customer starts the period as the timeline left them just before it (the snapshot of
their last step before it, or a new customer's standing), with the spend buckets of the
window before it as stored; then their purchases and refunds of the period are evaluated
in business-time order by the applier's own evaluation (loyalty/applier/evaluation.py), as
if each version had been in force for the whole period. Left out, on both sides alike:
refunds in the period of purchases made before it, tier reviews, redemptions and goodwill.
"""
import csv
import json
import multiprocessing
import os
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Text, cast, create_engine, func, select
from sqlalchemy.orm import Session

from loyalty.applier.batch import OrderRow, Step
from loyalty.applier.evaluation import _evaluate, step_order
from loyalty.models import Customer, Order, SpendBucket, TimelineEvent
from loyalty.services.balances import money
from loyalty.services.snapshots import standing_from_json
from rules import Standing, local_date, points_value
from rules.versions import ProgrammeBook
from rules.discount import discount_for, discount_given

READ_BATCH = 20_000
NO_LINES = ("[]", None)
TOP = 20


@dataclass
class Side:
    """One version's totals over the period, and each customer's part."""

    programme: object
    customers: dict = field(default_factory=dict)      # id -> [points, discount, end tier]

    def summary(self, tiers_elsewhere):
        programme = self.programme
        points = sum(found[0] for found in self.customers.values())
        tiers = {tier.name: tiers_elsewhere.get(tier.name, 0) for tier in programme.tiers}
        for _, _, tier in self.customers.values():
            tiers[tier] = tiers.get(tier, 0) + 1
        return {"version": programme.version, "points_issued": points,
                "points_value": money(programme, points_value(programme, points)),
                "discount_given": money(programme, sum(found[1] for found in self.customers.values())),
                "tiers": tiers}


def _replay(programme, standing, steps, buckets):
    """(points issued, discount given, end tier) of one customer's period under `programme`;
    `steps` in business-time order."""
    final, outcomes = _evaluate(ProgrammeBook.single(programme), standing, steps, {}, buckets, snapshots=False)
    points, discount, before = 0, 0, standing
    for step in steps:
        outcome = outcomes[step]
        if step.kind == "purchase":
            points += outcome.earning.total
            discount += discount_given(discount_for(programme, before.lifetime_spend)[0], step.amount)
        else:
            points -= outcome.clawback
        before = outcome.standing
    return points, discount, final.tier


def _in_slice(column, lo, hi):
    """Customers with ids in (lo, hi]; None: no bound."""
    return [condition for condition in ((column > lo) if lo is not None else None,
                                        (column <= hi) if hi is not None else None) if condition is not None]


def _steps(session, since, until, lo, hi):
    """The period's steps, a customer at a time: (customer id, birthday, stored tier, [Step])."""
    query = (select(TimelineEvent.customer_id, TimelineEvent.id, TimelineEvent.kind, TimelineEvent.at,
                    TimelineEvent.amount, TimelineEvent.cumulative, TimelineEvent.order_id, Order.order_key,
                    Order.placed_at, Order.total, cast(Order.lines, Text).label("lines"), Order.currency,
                    Order.source, Customer.birthday, Customer.tier)
             .join(Order, Order.id == TimelineEvent.order_id).join(Customer, Customer.id == TimelineEvent.customer_id)
             .where(Order.placed_at >= since, Order.placed_at < until, TimelineEvent.at < until,
                    *_in_slice(TimelineEvent.customer_id, lo, hi))
             .order_by(TimelineEvent.customer_id, TimelineEvent.at, TimelineEvent.id))
    current, steps, orders = None, [], {}
    for row in session.execute(query.execution_options(yield_per=READ_BATCH)):
        if current is None or row.customer_id != current.customer_id:
            if current is not None:
                yield current.customer_id, current.birthday, current.tier, sorted(steps, key=step_order)
            current, steps, orders = row, [], {}
        order = orders.get(row.order_id)
        if order is None:
            lines = json.loads(row.lines) if row.lines not in NO_LINES else []     # most orders list none
            order = orders[row.order_id] = OrderRow(row.customer_id, row.source, row.order_key, row.placed_at,
                                                    row.currency, row.total, lines, None, id=row.order_id)
        steps.append(Step(order, row.kind, row.at, row.amount, cumulative=row.cumulative, id=row.id))
    if current is not None:
        yield current.customer_id, current.birthday, current.tier, sorted(steps, key=step_order)


def _openings(session, since, lo, hi):
    """Each customer's standing snapshot just before `since`: id -> JSON."""
    ranked = (select(TimelineEvent.customer_id, TimelineEvent.standing_after,
                     func.row_number().over(partition_by=TimelineEvent.customer_id,
                                            order_by=(TimelineEvent.at.desc(), TimelineEvent.id.desc())).label("n"))
              .where(TimelineEvent.at < since, *_in_slice(TimelineEvent.customer_id, lo, hi)).subquery())
    return {row.customer_id: row.standing_after
            for row in session.execute(select(ranked.c.customer_id, ranked.c.standing_after).where(ranked.c.n == 1))}


def _buckets_before(session, programmes, since, lo, hi):
    first = min(local_date(p, since) - timedelta(days=p.tier_policy.window_days + 1) for p in programmes)
    buckets = {}
    for row in session.execute(select(SpendBucket.customer_id, SpendBucket.day, SpendBucket.amount)
                               .where(SpendBucket.day >= first, SpendBucket.day < local_date(programmes[0], since),
                                      *_in_slice(SpendBucket.customer_id, lo, hi))):
        buckets.setdefault(row.customer_id, {})[row.day] = row.amount
    return buckets


def replay_slice(session, draft, live, since, now, lo=None, hi=None):
    """The customers with ids in (lo, hi]: (purchases, draft side's customers, live side's,
    their stored tiers counted)."""
    openings = _openings(session, since, lo, hi)
    before = _buckets_before(session, (draft, live), since, lo, hi)
    purchases, sides, stored = 0, ({}, {}), {}
    for customer_id, birthday, stored_tier, steps in _steps(session, since, now, lo, hi):
        opening = openings.get(customer_id)
        standing = standing_from_json(opening) if opening is not None else Standing(
            tier=live.lowest_tier.name, birthday=birthday)
        stored[stored_tier] = stored.get(stored_tier, 0) + 1
        purchases += sum(1 for step in steps if step.kind == "purchase")
        for programme, found in zip((draft, live), sides):
            found[customer_id] = list(_replay(programme, standing, steps, dict(before.get(customer_id, {}))))
    return purchases, sides[0], sides[1], stored


def _replay_slice_apart(url, draft, live, since, now, lo, hi):
    """`replay_slice` in a process of its own, on a connection of its own."""
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return replay_slice(session, draft, live, since, now, lo, hi)
    finally:
        engine.dispose()


def _bounds(session, processes):
    """Customer ids splitting the customers into `processes` slices of about equal size."""
    count = session.scalar(select(func.count()).select_from(Customer))
    cuts = [session.scalar(select(Customer.id).order_by(Customer.id).offset(count * part // processes).limit(1))
            for part in range(1, processes)]
    edges = [None, *sorted(set(cut for cut in cuts if cut is not None)), None]
    return list(zip(edges, edges[1:]))


def default_processes():
    return max(1, min(4, os.cpu_count() or 1))


def _slices(session, draft, live, since, now, processes):
    bind = session.get_bind()
    if processes <= 1 or bind.dialect.name != "postgresql":
        return [replay_slice(session, draft, live, since, now)]
    url = bind.url.render_as_string(hide_password=False)
    bounds = _bounds(session, processes)
    session.rollback()
    with multiprocessing.get_context("spawn").Pool(len(bounds)) as pool:
        return pool.starmap(_replay_slice_apart, [(url, draft, live, since, now, lo, hi) for lo, hi in bounds])


def backtest(session, draft, live, days, now, processes=1):
    """Replay the last `days` days under `draft` and `live`: (report, per-customer rows). On
    PostgreSQL, with `processes` > 1, slices of the customers are replayed side by side, each
    in a process and on a connection of its own."""
    since = now - timedelta(days=days)
    sides, purchases = (Side(draft), Side(live)), 0
    elsewhere = dict(session.execute(select(Customer.tier, func.count()).group_by(Customer.tier)).all())
    for found, drafted, lived, stored in _slices(session, draft, live, since, now, processes):
        purchases += found
        sides[0].customers.update(drafted)
        sides[1].customers.update(lived)
        for tier, count in stored.items():
            elsewhere[tier] -= count            # counted by their replays instead
    report = {"days": days, "from": since, "to": now, "purchases": purchases, "customers": len(sides[0].customers),
              "draft": sides[0].summary(elsewhere), "live": sides[1].summary(elsewhere)}
    rows = _per_customer(draft, sides)
    report["moved"] = {"up": sum(1 for row in rows if row["tier_move"] == "up"),
                       "down": sum(1 for row in rows if row["tier_move"] == "down")}
    report["most_affected"] = sorted(rows, key=lambda row: (-abs(row["points_difference"]), row["customer_id"]))[:TOP]
    return report, rows


def _per_customer(draft, sides):
    rows = []
    for customer_id, (points, discount, tier) in sides[0].customers.items():
        live_points, live_discount, live_tier = sides[1].customers[customer_id]
        rank_draft, rank_live = draft.rank(tier), draft.rank(live_tier)
        rows.append({"customer_id": customer_id, "points_draft": points, "points_live": live_points,
                     "points_difference": points - live_points, "discount_draft": discount,
                     "discount_live": live_discount, "tier_draft": tier, "tier_live": live_tier,
                     "tier_move": "up" if rank_draft > rank_live else "down" if rank_draft < rank_live else ""})
    rows.sort(key=lambda row: row["customer_id"])
    return rows


CSV_COLUMNS = ("customer_id", "points_live", "points_draft", "points_difference", "discount_live",
               "discount_draft", "tier_live", "tier_draft", "tier_move")


def as_csv(rows, out):
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def purchases_in(session, now, days):
    """How many purchases a backtest of the last `days` days replays."""
    return session.scalar(select(func.count()).select_from(Order).where(Order.placed_at >= now - timedelta(days=days),
                                                                        Order.placed_at < now))
