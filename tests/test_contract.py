"""Contract tests from the OpenAPI document the service serves: schemathesis generates
requests for every operation and checks that nothing answers 5xx and every response
(status, content type, body) is one the document describes. Runs on both backends."""
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api import make_key
from tests.webhooks import deliver_shop, purchase

EXAMPLES = 30
# Every check but "schema-valid data is accepted": a webhook body is accepted only with a
# valid signature of it, and business rules (the programme's currency, the redemption
# minimum) refuse some schema-valid bodies with a documented 422.
EXCLUDED = [positive_data_acceptance]


def test_every_operation_keeps_to_the_document(app, runner, client):
    deliver_shop(client, purchase(customer="c-42", order="o-1", amount=150_000))
    keys = {scope: make_key(runner, scope) for scope in ("shop", "support", "admin")}
    app.config.update(LOYALTY_RATE_LIMIT="100000 per minute", LOYALTY_FAILED_AUTH_LIMIT="100000 per minute")
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        scope = next((scope for scope in ("support", "admin") if operation.path.startswith(f"/v1/{scope}")), "shop")

        @given(operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def keeps_to_the_document(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {keys[scope]}"}, excluded_checks=EXCLUDED)

        keeps_to_the_document()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) == 35, checked       # with the programme versions
