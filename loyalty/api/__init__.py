"""The /v1 API for customers, shops and support tools (api.md, "Customer, shop and support API")."""
from loyalty.api import checkout, customers, events, support

BLUEPRINTS = (customers.blp, checkout.blp, support.blp, events.blp)


def init_app(api):
    api.spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "An API key (`lk_...`, scope shop, support or admin; `loyalty keys create`) or a "
                       "customer token (JWT, HS256 with LOYALTY_TOKEN_SECRET, `sub` = customer id, `exp` required)."})
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
