"""Reports for admins: `/v1/admin/reports/NAME` (accounting, liability, customers, tiers,
cost), JSON or CSV (`?format=csv`); the same as `loyalty report`."""
import marshmallow as ma
from flask import Response
from marshmallow import validate

from loyalty import inputs
from loyalty.api.errors import documented_errors
from loyalty.auth import require
from loyalty.inputs import Blueprint
from loyalty.reports import command

blp = Blueprint("reports", __name__, url_prefix="/v1/admin/reports", description="Points accounting and liability.")


class ReportQuery(ma.Schema):
    start = inputs.Date(data_key="from", metadata={"description": "First day (default: this month's first)."})
    end = inputs.Date(data_key="to", metadata={"description": "Last day (default: today)."})
    period = ma.fields.String(load_default="month", validate=validate.OneOf(("day", "month")))
    format = ma.fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))
    churn_days = ma.fields.Integer(load_default=180, validate=validate.Range(1, 3650), metadata={
        "description": "customers: churned after this many days without a purchase."})


@blp.route("/<any(accounting, liability, customers, tiers, cost):name>")
@require("admin")
@blp.arguments(ReportQuery, location="query")
@blp.response(200, description="The report: JSON, or CSV with `format=csv`.")
@documented_errors(400, 401, 403, 422)
def report(query, name):
    """`accounting`: {"period", "periods": [{"start", "end", "opening", "earned", "corrected", "adjusted",
    "redeemed", "expired", "clawed_back", "released", "closing"}]}; `liability`: {"available", "pending",
    "value", "expected_breakage", "expected_cost"}; `customers` (as of `to`): {"as_of", "churn_days", "all",
    "by_tier", "by_cohort", "cohort_retention"}, each group with customers, active, churned, churn_rate,
    repeat_purchase_rate, average_order_value, purchases_a_year, years_retained, lifetime_value; `tiers`: {"months":
    [{"month", "end", "tiers": {name: customers at the month's end}, "up", "down"}]}; `cost` (purchases from `from` to
    `to`, by the tier held before each): {"from", "to", "all", "by_tier": {name: {"purchases", "members_spend",
    "discounts_given", "redemptions", "points_redeemed", "redeemed_value", "cost", "cost_share"}}}, the discount
    being the standing discount the purchase's lifetime spend before it earned, worked back from what was paid."""
    result = command.report(name, query.get("start"), query.get("end"), query["period"], query["churn_days"])
    if query["format"] == "csv":
        return Response(command.as_csv(command.rows_of(name, result)), mimetype="text/csv")
    return result
