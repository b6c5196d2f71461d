"""Customers: enrolment by the shop, balance and history for the customer, shop and support."""
from flask import current_app, g

from loyalty.api import schemas
from loyalty.api.errors import documented_errors
from loyalty.auth import require
from loyalty.inputs import Blueprint
from loyalty.models.types import utcnow
from loyalty.programme import current_programme
from loyalty.services import balances, customers
from loyalty.services.outlook import outlook as outlook_of

blp = Blueprint("customers", __name__, url_prefix="/v1/customers", description="Enrolment, balances and history.")


@blp.route("/<customer_id:customer_id>", methods=["PUT"])
@require("shop")
@blp.arguments(schemas.Enrolment)
@blp.response(200, schemas.CustomerOut, description="Updated.")
@blp.alt_response(201, schema=schemas.CustomerOut, description="Enrolled.")
@documented_errors(400, 401, 403, 409, 422)
def enrol(profile, customer_id):
    """Enrol a customer or update their email, birthday or Stripe customer id."""
    customer, created = customers.enrol_or_update(current_programme(), customer_id, profile)
    return customer, 201 if created else 200


@blp.route("/<customer_id:customer_id>/balance")
@require("shop", "support", customer=True)
@blp.response(200, schemas.Balance)
@documented_errors(401, 403, 404)
def balance(customer_id):
    """Points (available, pending, expiring), tier, discount and spend."""
    programme, now = current_programme(), utcnow()
    answer = balances.balance(programme, balances.read_standing(programme, customer_id, now, lots=True), now)
    return current_app.json.response(answer)     # JSON-ready in the Balance shape: no second dump


@blp.route("/<customer_id:customer_id>/outlook")
@require("shop", "support", customer=True)
@blp.response(200, schemas.Outlook)
@documented_errors(401, 403, 404)
def outlook(customer_id):
    """What lies ahead: when pending points become available, the support response target,
    until when the spend the next tier needs is enough, and a tier review that would lower the
    tier in the coming days with the spend that keeps it."""
    return outlook_of(current_programme(), customer_id, utcnow())


@blp.route("/<customer_id:customer_id>/transactions")
@require("shop", "support", customer=True)
@blp.arguments(schemas.Page, location="query")
@blp.response(200, schemas.Transactions)
@documented_errors(400, 401, 403, 404, 422)
def transactions(page, customer_id):
    """Ledger entries, newest first, each with its reason and the rules behind it."""
    return balances.transactions(customer_id, page["limit"], page["cursor"], staff=g.principal.scope != "customer")
