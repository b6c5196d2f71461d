"""Checkout: quotes and redemptions, for the shop."""
from flask import g

from loyalty.api import schemas
from loyalty.api.errors import documented_errors
from loyalty.auth import require
from loyalty.inputs import Blueprint
from loyalty.models.types import utcnow
from loyalty.programme import current_programme
from loyalty.services import accounts, balances

blp = Blueprint("checkout", __name__, url_prefix="/v1/customers", description="Discount quotes and redemptions.")


@blp.route("/<customer_id:customer_id>/quote", methods=["POST"])
@require("shop")
@blp.arguments(schemas.QuoteIn)
@blp.response(200, schemas.QuoteOut)
@documented_errors(400, 401, 403, 404, 422)
def quote(body, customer_id):
    """The standing discount on an order and what points could take off it."""
    programme, now = current_programme(), utcnow()
    return accounts.quote_for(programme, balances.read_standing(programme, customer_id, now), body["order_total"],
                              body.get("redeem_points"), now)


@blp.route("/<customer_id:customer_id>/redemptions", methods=["POST"])
@require("shop")
@blp.arguments(schemas.IdempotencyHeader, location="headers", as_kwargs=True)
@blp.arguments(schemas.RedemptionIn)
@blp.response(201, schemas.RedemptionOut)
@documented_errors(400, 401, 403, 404, 409, 422)
def redeem(body, customer_id, idempotency_key):
    """Spend available points on an order. The same Idempotency-Key and body answer the
    same redemption without spending twice; the same key with another body is 409."""
    result, _ = accounts.redeem(current_programme(), customer_id, body, idempotency_key, g.principal.name, utcnow())
    return result
