"""The /v1 API for customers, shops and support tools (api.md, "Customer, shop and support API")."""
from loyalty import inputs
from loyalty.api import checkout, customers, events, programmes, reports, support, webhook_endpoints
from loyalty.models import Customer, WebhookEvent

BLUEPRINTS = (customers.blp, checkout.blp, support.blp, events.blp, webhook_endpoints.blp, reports.blp,
              programmes.blp)
# Path parameters (`<customer_id:customer_id>`) and the columns that hold them.
PATH_COLUMNS = {"customer_id": Customer.id, "event_id": WebhookEvent.event_id}


def init_app(app, api):
    api.spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "An API key (`lk_...`, scope shop, support or admin; `loyalty keys create`) or a "
                       "customer token (JWT, HS256 with LOYALTY_TOKEN_SECRET, `sub` = customer id, `exp` required, "
                       "living at most LOYALTY_TOKEN_MAX_AGE seconds from `iat`)."})
    for name, converter in inputs.path_converters(PATH_COLUMNS).items():
        app.url_map.converters[name] = converter
        api.register_converter(converter, inputs.documented_path)
    app.before_request(inputs.check_path_parameters(PATH_COLUMNS))
    app.before_request(inputs.require_json_bodies)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
