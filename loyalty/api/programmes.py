"""Programme versions for admins (`/v1/admin/programmes`): draft, read, compare, publish,
simulate, backtest, apply. The same as `loyalty programme ...` (api.md, "Programme versions")."""
import json

import marshmallow as ma
from flask import g
from marshmallow import validate

from loyalty import inputs
from loyalty.api.errors import documented_errors
from loyalty.auth import require
from loyalty.extensions import db
from loyalty.inputs import Blueprint
from loyalty.models.types import utcnow
from loyalty.programmes import documents, present, simulate as simulation, store
from loyalty.webhooks import shop

blp = Blueprint("programmes", __name__, url_prefix="/v1/admin/programmes",
                description="Programme versions: draft, publish, compare, simulate, backtest.")


class DraftIn(ma.Schema):
    source = ma.fields.String(validate=validate.Length(1, 200_000), metadata={
        "description": "The programme as TOML or JSON text (as in rules/default_programme.toml)."})
    format = ma.fields.String(validate=validate.OneOf(documents.FORMATS), metadata={
        "description": "Of `source` (default: JSON when it starts with `{`, else TOML)."})
    programme = ma.fields.Dict(metadata={"description": "The programme as a JSON object, instead of `source`."})

    @ma.validates_schema
    def one_of(self, data, **_):
        if ("source" in data) == ("programme" in data):
            raise ma.ValidationError("Give either `source` (TOML or JSON text) or `programme` (an object).")


class VersionOut(ma.Schema):
    id = ma.fields.Integer()
    version = ma.fields.String(metadata={"description": "The programme's `version` label (ledger entries name it)."})
    status = ma.fields.String(metadata={"enum": ["draft", "scheduled", "live", "retired"]})
    effective_from = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    created_by = ma.fields.String()
    published_at = ma.fields.AwareDateTime(allow_none=True)
    published_by = ma.fields.String(allow_none=True)
    digest = ma.fields.String(metadata={"description": "SHA-256 of the canonical document."})


class VersionDetail(VersionOut):
    format = ma.fields.String()
    source = ma.fields.String()
    programme = ma.fields.Dict()


class AuditOut(ma.Schema):
    at = ma.fields.AwareDateTime()
    version = ma.fields.String()
    version_id = ma.fields.Integer()
    action = ma.fields.String(metadata={"enum": ["drafted", "published", "applied"]})
    actor = ma.fields.String()
    detail = ma.fields.Dict()


class VersionList(ma.Schema):
    versions = ma.fields.List(ma.fields.Nested(VersionOut))
    audit = ma.fields.List(ma.fields.Nested(AuditOut))


class PublishIn(ma.Schema):
    effective_from = inputs.AwareDateTime(metadata={"description": "When it takes over (default: now); never past."})


class Change(ma.Schema):
    place = ma.fields.String()
    old = ma.fields.Raw(allow_none=True)
    new = ma.fields.Raw(allow_none=True)


class DiffOut(ma.Schema):
    changes = ma.fields.List(ma.fields.Nested(Change))
    to = ma.fields.String()
    from_ = ma.fields.String(data_key="from")


class StandingIn(ma.Schema):
    tier = ma.fields.String(validate=validate.Length(1, 32))
    qualifying_spend = ma.fields.Integer(strict=True, validate=validate.Range(0, 10**15), load_default=0)
    lifetime_spend = ma.fields.Integer(strict=True, validate=validate.Range(0, 10**15), load_default=0)
    first_purchase_at = inputs.AwareDateTime(allow_none=True)
    birthday = inputs.Date(allow_none=True)


class SimulateIn(ma.Schema):
    customer_id = inputs.Text(most=255, metadata={"description": "Evaluate for this customer's real standing."})
    standing = ma.fields.Nested(StandingIn, metadata={"description": "Or a standing given inline."})
    purchase = ma.fields.Nested(shop.Order, required=True, metadata={
        "description": "The shop webhook's `data.order` object."})
    at = inputs.AwareDateTime(metadata={"description": "Purchase time (default: now)."})

    @ma.validates_schema
    def one_standing(self, data, **_):
        if "customer_id" in data and "standing" in data:
            raise ma.ValidationError("Give `customer_id` or `standing`, not both.")


class TraceOut(ma.Schema):
    rule = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": ["base", "bonus", "fixed_bonus", "exclusion"]})
    matched = ma.fields.Boolean()
    points = ma.fields.Integer()
    why = ma.fields.String()


class SimulateOut(ma.Schema):
    version = ma.fields.String()
    customer_id = ma.fields.String(allow_none=True)
    at = ma.fields.AwareDateTime()
    points = ma.fields.Integer(metadata={"description": "Points the purchase earns (pending for the return window)."})
    points_pending_until = ma.fields.Date()
    trace = ma.fields.List(ma.fields.Nested(TraceOut))
    tier = ma.fields.Dict(metadata={"description": "{before, after, changed}"})
    discount = ma.fields.Dict(metadata={"description": "{percent: given on this order, percent_after: on the next}"})
    spend = ma.fields.Dict(metadata={"description": "{qualifying_before, qualifying_after, lifetime_after}: money"})
    support = ma.fields.Dict(metadata={"description": "{priority, response_target_hours, reasons} after it"})
    summary = ma.fields.String()


def _shown(row, source=False):
    return present.version(row, store.published(db.session), utcnow(), source=source)


@blp.route("")
@require("admin")
@blp.response(200, VersionList)
@documented_errors(401, 403)
def listing():
    """Every version with its status (newest first), and the audit log of who did what when."""
    now, rows = utcnow(), store.published(db.session)
    versions = [present.version(row, rows, now) for row in store.every(db.session)]
    labels = {shown["id"]: shown["version"] for shown in versions}
    return {"versions": versions, "audit": [present.audit(entry, labels) for entry in store.history(db.session)]}


@blp.route("", methods=["POST"])
@require("admin")
@blp.arguments(DraftIn)
@blp.response(201, VersionDetail)
@documented_errors(400, 401, 403, 422)
def draft(body):
    """Store a draft; 422 with `details.problems`, every problem by place, when invalid."""
    if "programme" in body:
        text, fmt = json.dumps(body["programme"], indent=2, ensure_ascii=False), "json"
    else:
        text, fmt = body["source"], body.get("format")
    row = store.draft(db.session, text, fmt, g.principal.name, utcnow())
    db.session.commit()
    return _shown(row, source=True)


@blp.route("/<version>")
@require("admin")
@blp.response(200, VersionDetail)
@documented_errors(401, 403, 404)
def show(version):
    """A version (by id or label) with its source and its document."""
    return _shown(store.find(db.session, version), source=True)


@blp.route("/<version>/diff/<other>")
@require("admin")
@blp.response(200, DiffOut)
@documented_errors(401, 403, 404)
def diff(version, other):
    """What changes from `version` to `other`, place by place."""
    old, new = store.find(db.session, version), store.find(db.session, other)
    return {"from_": old.label, "to": new.label, "changes": documents.diff(old.document, new.document)}


@blp.route("/<version>/publish", methods=["POST"])
@require("admin")
@blp.arguments(PublishIn)
@blp.response(200, VersionOut)
@documented_errors(400, 401, 403, 404, 409, 422)
def publish(body, version):
    """Publish a draft to take effect at `effective_from` (default now; never in the past)."""
    row = store.publish(db.session, version, g.principal.name, utcnow(), body.get("effective_from"))
    db.session.commit()
    return _shown(row)


@blp.route("/<version>/simulate", methods=["POST"])
@require("admin")
@blp.arguments(SimulateIn)
@blp.response(200, SimulateOut)
@documented_errors(400, 401, 403, 404, 422)
def simulate(body, version):
    """A purchase evaluated under this version: points with every rule's part (matched or not, and why
    not), tier before and after, discount, support target. Nothing is written."""
    return simulation.simulate(db.session, version, body, utcnow())


INLINE_PURCHASES = 20_000       # a backtest over more purchases than this is queued for the worker


class BacktestIn(ma.Schema):
    days = ma.fields.Integer(load_default=365, strict=True, validate=validate.Range(1, 3650))


class BacktestOut(ma.Schema):
    id = ma.fields.Integer(allow_none=True, metadata={"description": "The job's id when it was queued."})
    version = ma.fields.String()
    days = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": ["done", "queued", "running", "failed"]})
    requested_by = ma.fields.String(allow_none=True)
    requested_at = ma.fields.AwareDateTime(allow_none=True)
    started_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)
    report = ma.fields.Dict(allow_none=True, metadata={
        "description": '{"days", "from", "to", "purchases", "customers", "draft": {...}, "live": {...}, "moved", '
                       '"most_affected"}; each side with points_issued, points_value, discount_given, tiers.'})
    error = ma.fields.String(allow_none=True)


@blp.route("/<version>/backtest", methods=["POST"])
@require("admin")
@blp.arguments(BacktestIn)
@blp.response(200, BacktestOut, description="Done at once: `report` holds the comparison.")
@blp.alt_response(202, schema=BacktestOut, description="Queued (a long period): read it at `/backtests/{id}`.")
@documented_errors(400, 401, 403, 404, 422)
def backtest_version(body, version):
    """Replay the last `days` of stored purchases and refunds under this version and under the live one, in
    memory, and compare them (nothing is written). A period of many purchases is queued for `loyalty worker`:
    202 with the job, to read at `/v1/admin/programmes/backtests/{id}`."""
    from loyalty.programme import current_programme
    from loyalty.programmes import backtest, backtest_jobs

    now, row = utcnow(), store.find(db.session, version)
    if backtest.purchases_in(db.session, now, body["days"]) > INLINE_PURCHASES:
        job = backtest_jobs.request(db.session, row, body["days"], g.principal.name, now)
        db.session.commit()
        return backtest_jobs.describe(db.session, job), 202
    report, _ = backtest.backtest(db.session, documents.stored(row.document), current_programme(now, fresh=True),
                                  body["days"], now)
    return {"id": None, "version": row.label, "days": body["days"], "status": "done", "finished_at": utcnow(),
            "report": backtest_jobs.jsonable(report)}


@blp.route("/backtests/<int(max=9223372036854775807):job_id>")
@require("admin")
@blp.response(200, BacktestOut)
@documented_errors(401, 403, 404)
def backtest_job(job_id):
    """A queued backtest: its status, and its report once done."""
    from loyalty.programmes import backtest_jobs

    return backtest_jobs.describe(db.session, backtest_jobs.find(db.session, job_id))


class ApplyIn(ma.Schema):
    dry_run = ma.fields.Boolean(load_default=False)


@blp.route("/apply", methods=["POST"])
@require("admin")
@blp.arguments(ApplyIn)
@blp.response(200, description='{"customers", "changed", "moved": {"standard -> gold": n}, "dry_run", "version"}')
@documented_errors(400, 401, 403, 422)
def apply_version(body):
    """Move every customer to the tier the version in force now gives them, at once (as `loyalty programme
    apply`): up when their spend reaches a higher tier, off a tier the version no longer has; a tier the spend
    no longer reaches because a threshold rose stays until the review."""
    from loyalty.programme import current_programme
    from loyalty.programmes import apply

    now = utcnow()
    result = apply.apply_now(db.session, current_programme(now, fresh=True), now, body["dry_run"])
    live = store.live(db.session, now)
    if not body["dry_run"] and live is not None:
        store.record(db.session, live, "applied", g.principal.name, now, customers=result["customers"],
                     changed=result["changed"], moved=result["moved"])
        db.session.commit()
    return result
