"""What shops and support do on an account: quotes, redemptions, support flags, manual
priority and goodwill. What an account reads as (balance, history) is in balances.py."""
import functools
import hashlib
import json

from sqlalchemy import select

from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.models import Customer, Redemption, SupportAction
from loyalty.outbox import record as outbox
from loyalty.outbox.catalog import Notice
from loyalty.services import balances, customers, ledger
from loyalty.services.snapshots import standing_of
from rules import (GoodwillRefused, RedemptionRefused, check_goodwill, check_redemption, discount_amount,
                   discount_for, quote, support_flags)

CONFLICTS = {"insufficient_points", "negative_balance"}


def find(customer_id):
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise LoyaltyError(404, "not_found", "No such customer.")
    return customer


def _check_currency(programme, money):
    if money["currency"].upper() != programme.currency:
        raise LoyaltyError(422, "currency_mismatch", f"This programme runs in {programme.currency}.",
                           {"currency": money["currency"], "programme_currency": programme.currency})
    return money["amount"]


def quote_for(programme, customer, order_total, redeem_points, now):
    total = _check_currency(programme, order_total)
    standing = standing_of(customer, customer.qualifying)
    q = quote(programme, standing, total, redeem_points)
    refusal = {"code": q.refusal.code, "message": str(q.refusal), "details": q.refusal.details} if q.refusal else None
    money = functools.partial(balances.money, programme)
    return {"discount_percent": q.discount_percent, "discount": money(q.discount),
            "points_redeemable_max": q.points_redeemable_max, "redeem_points": q.redeem_points,
            "redeem_amount": money(q.redeem_amount), "total_after": money(q.total_after),
            "redeem_refused": refusal, "programme_version": q.programme_version}


def _request_hash(body):
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def redeem(programme, customer_id, body, idempotency_key, actor, now):
    """Spend points once per idempotency key; a replay answers the first result."""
    customers.begin_write()
    customer = customers.lock(customer_id)
    if customer is None:
        raise LoyaltyError(404, "not_found", "No such customer.")
    digest = _request_hash(body)
    done = db.session.scalars(select(Redemption).where(Redemption.customer_id == customer_id,
                                                       Redemption.idempotency_key == idempotency_key)).first()
    if done is not None:
        db.session.rollback()
        if done.request_hash != digest:
            raise LoyaltyError(409, "idempotency_key_reused", "This Idempotency-Key was used with another body.")
        return _redemption(programme, done), False
    total = _check_currency(programme, body["order_total"]) if body.get("order_total") else None
    discount = 0
    if total is not None:
        discount = discount_amount(discount_for(programme, customer.lifetime_spend)[0], total)
    try:
        amount = check_redemption(programme, customer.points_available, total, body["points"], discount)
    except RedemptionRefused as refused:
        db.session.rollback()
        raise LoyaltyError(409 if refused.code in CONFLICTS else 422, refused.code, str(refused),
                           refused.details) from None
    ledger.book(customer, "redemption", -body["points"], "available", now, reason=f"Redeemed on order {body['order_id']}",
                rules=[["redemption", -body["points"]]], version=programme.version, actor=actor)
    done = Redemption(customer_id=customer_id, idempotency_key=idempotency_key, request_hash=digest,
                      order_id=body["order_id"], points=body["points"], amount_off=amount,
                      currency=programme.currency, actor=actor, created_at=now)
    db.session.add(done)
    db.session.flush()
    outbox.record(db.session, programme, [Notice("points.redeemed", customer_id, {
        "points": body["points"], "order_id": body["order_id"], "redemption_id": done.id,
        "amount_off": balances.money(programme, amount)})], now)
    db.session.commit()
    return _redemption(programme, done), True


def _redemption(programme, done):
    return {"id": done.id, "points": done.points, "order_id": done.order_id,
            "amount_off": {"amount": done.amount_off, "currency": done.currency}}


def flags(programme, customer, now):
    manual = balances.manual_priority(customer)
    result = support_flags(programme, customer.tier, manual, now)
    active = manual is not None and now < manual.until
    return {"customer_id": customer.id, "priority": result.priority, "tier": result.tier,
            "response_target_hours": result.response_target_hours, "reasons": list(result.reasons),
            "manual": {"reason": manual.reason, "until": manual.until, "by": manual.by} if active else None}


def set_priority(programme, customer_id, reason, until, actor, now):
    if until <= now:
        raise LoyaltyError(422, "invalid_request", "`until` must be in the future.", {"until": until.isoformat()})
    customers.begin_write()
    customer = customers.lock(customer_id)
    if customer is None:
        raise LoyaltyError(404, "not_found", "No such customer.")
    before = flags(programme, customer, now)
    customer.manual_priority_reason, customer.manual_priority_until = reason, until
    customer.manual_priority_by = actor
    db.session.add(SupportAction(customer_id=customer_id, kind="manual_priority", reason=reason, until=until,
                                 actor=actor, at=now))
    result = flags(programme, customer, now)
    moved = (before["priority"], before["response_target_hours"]) != (result["priority"],
                                                                     result["response_target_hours"])
    if moved:
        db.session.flush()
        outbox.record(db.session, programme, [Notice("priority.changed", customer_id, {
            "from": {"priority": before["priority"], "response_target_hours": before["response_target_hours"]},
            "to": {"priority": result["priority"], "response_target_hours": result["response_target_hours"]},
            "why": "manual", "reasons": result["reasons"], "reason": reason, "until": until.isoformat(),
            "by": actor})], now)
    db.session.commit()
    return result


def grant_goodwill(programme, customer_id, points, reason, actor, now):
    try:
        check_goodwill(programme, points)
    except GoodwillRefused as refused:
        raise LoyaltyError(422, refused.code, str(refused), refused.details) from None
    customers.begin_write()
    customer = customers.lock(customer_id)
    if customer is None:
        raise LoyaltyError(404, "not_found", "No such customer.")
    entry = ledger.book(customer, "adjustment", points, "available", now, reason=reason,
                        rules=[["goodwill", points]], version=programme.version, actor=actor)
    db.session.add(SupportAction(customer_id=customer_id, kind="goodwill", reason=reason, points=points,
                                 actor=actor, at=now))
    db.session.flush()
    result = {"id": entry.id, "points": points, "reason": reason, "by": actor,
              "available": customer.points_available}
    outbox.record(db.session, programme, [Notice("points.adjusted", customer_id, {
        "points": points, "reason": reason, "by": actor, "entry_id": entry.id})], now)
    db.session.commit()
    return result
