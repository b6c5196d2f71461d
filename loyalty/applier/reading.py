"""The reads of a batch: each is one statement for the whole batch (a few per table),
except the rare late customer, whose replay reads its own timeline.

Locks, in the same order in every worker so two never wait on each other in a circle:
the batch's order keys (PostgreSQL transaction advisory locks, sorted), then its
customers' rows (FOR UPDATE, sorted by id). The jobs and the API lock customers only.
SQLite has one writer at a time (BEGIN IMMEDIATE) and needs neither.
"""
from datetime import timedelta

from sqlalchemy import bindparam, func, or_, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from loyalty.applier.batch import Account, OrderRow, Step
from loyalty.extensions import one_of
from loyalty.models import Customer, Order, ParkedRefund, SpendBucket, TimelineEvent
from loyalty.models.types import UTCDateTime
from loyalty.services.balances import manual_priority
from loyalty.services.snapshots import order_from_json, order_state_of, standing_from_json, standing_of
from rules import Standing, in_window, local_date, window_start

_ORDER_KEY_LOCKS = text("""
    SELECT pg_advisory_xact_lock(h) FROM (
        SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS sorted""")


def postgres(session):
    return session.get_bind().dialect.name == "postgresql"


def begin(session):
    """Start the batch's transaction; SQLite takes its write lock first (BEGIN IMMEDIATE), so
    the worker and a web request wait for each other instead of failing halfway."""
    if not postgres(session):
        connection = session.connection()
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock_order_keys(session, keys):
    """Serialise everything about these orders (purchase, refunds, parked or not) with any other
    worker, for this transaction."""
    if keys and postgres(session):
        session.execute(_ORDER_KEY_LOCKS, {"keys": sorted(f"{source}:{key}" for source, key in keys)})


def _by_source(session, model, keys):
    """`model` rows about these (source, order key) pairs: one list of keys per source (which
    the unique (source, order_key) index serves), not a row-value IN."""
    sources = {}
    for source, key in keys:
        sources.setdefault(source, []).append(key)
    return or_(*[(model.source == source) & one_of(session, model.order_key, order_keys)
                 for source, order_keys in sorted(sources.items())])


def order_claims(session, keys):
    """(source, order key) -> (order id, customer id) of the stored orders among `keys`."""
    if not keys:
        return {}
    rows = session.execute(select(Order.source, Order.order_key, Order.id, Order.customer_id)
                           .where(_by_source(session, Order, keys)))
    return {(source, key): (order_id, customer_id) for source, key, order_id, customer_id in rows}


def parked_refunds(session, keys):
    """(source, order key) -> the refunds parked for that order, oldest first."""
    found = {}
    if keys:
        rows = session.scalars(select(ParkedRefund).where(_by_source(session, ParkedRefund, keys))
                               .order_by(ParkedRefund.at, ParkedRefund.id))
        for row in rows:
            found.setdefault((row.source, row.order_key), []).append(row)
    return found


def stripe_owners(session, stripe_ids):
    """Stripe customer id -> the loyalty customer enrolled with it."""
    if not stripe_ids:
        return {}
    return dict(session.execute(select(Customer.stripe_customer_id, Customer.id)
                                .where(one_of(session, Customer.stripe_customer_id, stripe_ids))).all())


# New customers: on PostgreSQL one INSERT of an array of ids (only the id differs between
# rows); elsewhere a multi-row insert. Either way a customer enrolled meanwhile is kept.
_ENROL = {"postgresql": text("""
    INSERT INTO customers (id, created_at, updated_at, points_available, points_pending, tier, lifetime_spend)
    SELECT id, :now, :now, 0, 0, :tier, 0 FROM unnest(CAST(:ids AS text[])) AS id ORDER BY id
    ON CONFLICT (id) DO NOTHING""").bindparams(bindparam("now", type_=UTCDateTime)),
          "sqlite": sqlite_insert(Customer).on_conflict_do_nothing(index_elements=["id"])}
_ACCOUNT_COLUMNS = [Customer.__table__.c[name] for name in (
    "id", "email", "birthday", "stripe_customer_id", "points_available", "points_pending", "tier", "tier_since",
    "lifetime_spend", "first_purchase_at", "tier_floor", "floor_since", "last_event_at", "event_sequence",
    "manual_priority_reason", "manual_priority_until", "manual_priority_by")]


def lock_accounts(session, programme, enrol, others, now):
    """Enrol the customers in `enrol` that are new, then lock and read every account of the
    batch in id order; answers id -> Account."""
    if enrol and postgres(session):
        session.execute(_ENROL["postgresql"], {"ids": sorted(enrol), "now": now, "tier": programme.lowest_tier.name})
    elif enrol:
        session.execute(_ENROL["sqlite"], [
            {"id": customer_id, "created_at": now, "updated_at": now, "points_available": 0, "points_pending": 0,
             "tier": programme.lowest_tier.name, "lifetime_spend": 0} for customer_id in sorted(enrol)])
    ids = sorted(set(enrol) | set(others))
    query = select(*_ACCOUNT_COLUMNS).where(one_of(session, Customer.id, ids)).order_by(Customer.id)
    if postgres(session):
        query = query.with_for_update()
    return {row.id: Account(row.id, standing_of(row, 0), row.last_event_at, row.email, row.stripe_customer_id,
                            row.event_sequence, manual_priority(row))
            for row in session.execute(query)} if ids else {}


# The counted amount of an order (its total less excluded lines) is in its snapshots, not
# in a column: read from its purchase step's snapshot in the same statement as the order.
_COUNTED = (select(TimelineEvent.order_after["counted"])
            .where(TimelineEvent.order_id == Order.id, TimelineEvent.kind == "purchase")
            .limit(1).correlate(Order).scalar_subquery().label("counted"))


def _order_row(row, counted):
    return OrderRow(customer_id=row.customer_id, source=row.source, order_key=row.order_key, placed_at=row.placed_at,
                    currency=row.currency, total=row.total, lines=row.lines, available_on=row.available_on,
                    id=row.id, released_at=row.released_at, booked=order_state_of(row, counted))


def orders(session, ids):
    """Order id -> OrderRow, read under the customers' locks."""
    if not ids:
        return {}
    return {row.id: _order_row(row, counted)
            for row, counted in session.execute(select(Order, _COUNTED).where(one_of(session, Order.id, ids)))}


def refunds_seen(session, pairs):
    """Which (order id, refund key) pairs are on a timeline already."""
    if not pairs:
        return set()
    order_ids, keys = {order_id for order_id, _ in pairs}, {key for _, key in pairs}
    rows = session.execute(select(TimelineEvent.order_id, TimelineEvent.refund_key).where(
        one_of(session, TimelineEvent.order_id, order_ids), one_of(session, TimelineEvent.refund_key, keys)))
    return {tuple(row) for row in rows} & set(pairs)


def spend_buckets(session, customer_ids, start, end):
    """Customer id -> {day: net spend} for the days from `start` to `end`."""
    found = {customer_id: {} for customer_id in customer_ids}
    if customer_ids:
        rows = session.execute(select(SpendBucket.customer_id, SpendBucket.day, SpendBucket.amount).where(
            one_of(session, SpendBucket.customer_id, customer_ids), SpendBucket.day >= start, SpendBucket.day <= end))
        for customer_id, day, amount in rows:
            found[customer_id][day] = amount
    return found


_STEP_COLUMNS = (TimelineEvent.id, TimelineEvent.order_id, TimelineEvent.kind, TimelineEvent.at, TimelineEvent.amount,
                 TimelineEvent.cumulative, TimelineEvent.refund_key)
_CUSTOMER = bindparam("customer_id")
BASE = (select(TimelineEvent.standing_after).where(TimelineEvent.customer_id == _CUSTOMER,
                                                   TimelineEvent.at <= bindparam("since"))
        .order_by(TimelineEvent.at.desc(), TimelineEvent.id.desc()).limit(1))
_LATER = (select(*_STEP_COLUMNS).where(TimelineEvent.customer_id == _CUSTOMER, TimelineEvent.at > bindparam("since"))
          .order_by(TimelineEvent.at, TimelineEvent.id))
_newest_per_order = (select(TimelineEvent.order_id, TimelineEvent.order_after, func.row_number().over(
    partition_by=TimelineEvent.order_id, order_by=(TimelineEvent.at.desc(), TimelineEvent.id.desc())).label("n"))
    .where(TimelineEvent.customer_id == _CUSTOMER, TimelineEvent.at <= bindparam("since"),
           TimelineEvent.order_id.in_(bindparam("order_ids", expanding=True))).subquery())
_STATES_BEFORE = select(_newest_per_order.c.order_id, _newest_per_order.c.order_after).where(
    _newest_per_order.c.n == 1)


_SPEND_BEFORE = (select(TimelineEvent.order_id, TimelineEvent.kind, TimelineEvent.at, TimelineEvent.order_after,
                        Order.placed_at)
                 .join(Order, Order.id == TimelineEvent.order_id)
                 .where(TimelineEvent.customer_id == _CUSTOMER, TimelineEvent.at <= bindparam("since"),
                        Order.placed_at >= bindparam("placed_from"))
                 .order_by(TimelineEvent.at, TimelineEvent.id))


def spend_before(session, book, customer_id, since):
    """The customer's spend buckets (day -> net spend) as the stored steps up to `since` left
    them, for the days a window from `since` on can read: each purchase adds its counted
    amount on its day (the total less excluded lines, from its snapshot; a snapshot stored
    before that existed counts the total, as it was counted then), each refund made while
    its purchase was in the window takes off the drop in the order's counted net (as the
    buckets are kept live)."""
    programme = book.at(since)
    first_day = min(window_start(version, since) for version in book.programmes)     # any version's window
    placed_from = since - timedelta(days=book.widest_window_days() + 2)     # a margin for time zones
    buckets, counting = {}, {}
    for row in session.execute(_SPEND_BEFORE, {"customer_id": customer_id, "since": since,
                                               "placed_from": placed_from}):
        day = local_date(programme, row.placed_at)
        if day < first_day:
            continue
        after = order_from_json(row.order_after)
        if row.kind == "purchase":
            buckets[day] = buckets.get(day, 0) + after.counted_spend
            continue
        drop = counting.get(row.order_id, after.counted_spend) - after.counted_net
        counting[row.order_id] = after.counted_net
        if in_window(book.at(row.at), row.placed_at, row.at):
            buckets[day] = buckets.get(day, 0) - drop
    return buckets


def replay_input(session, book, account, since, new_steps, known_orders):
    """What a late customer's replay starts from: the standing just before `since`, the stored
    steps after it (their orders added to `known_orders`), each touched order's state before
    it, and the spend buckets before it (so spend ages out during the replay as it does live)."""
    params = {"customer_id": account.id, "since": since}
    base = session.execute(BASE, params).scalar()
    standing = standing_from_json(base) if base is not None else Standing.opening(book.at(since))
    rows = session.execute(_LATER, params).all()
    missing = {row.order_id for row in rows} - set(known_orders)
    known_orders.update(orders(session, missing))
    stored = [Step(order=known_orders[row.order_id], kind=row.kind, at=row.at, amount=row.amount,
                   cumulative=row.cumulative, refund_key=row.refund_key, id=row.id) for row in rows]
    touched = {step.order for step in [*stored, *new_steps] if step.order.id is not None}
    states = {}
    if touched:
        by_id = {order.id: order for order in touched}
        for order_id, order_after in session.execute(_STATES_BEFORE, {**params, "order_ids": sorted(by_id)}):
            states[by_id[order_id]] = order_from_json(order_after)
    return standing, stored, states, spend_before(session, book, account.id, since)
