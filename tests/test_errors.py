"""Every error is the JSON of api.md, "Errors": 404, 405, 413, 400, 422, a domain error and
an unexpected exception, on the real error handlers of the app."""
import marshmallow as ma
import pytest
from flask_smorest import Blueprint
from sqlalchemy import text

from loyalty.errors import LoyaltyError


class EchoSchema(ma.Schema):
    amount = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0))


def _probe_blueprint():
    """Routes that exist only in these tests, to drive each error path through the real handlers."""
    blp = Blueprint("probe", __name__, url_prefix="/probe")

    @blp.route("/echo", methods=["POST"])
    @blp.arguments(EchoSchema)
    @blp.response(200, EchoSchema)
    def echo(body):
        return body

    @blp.route("/boom")
    def boom():
        raise RuntimeError("secret sauce: password=hunter2")

    @blp.route("/sql")
    def sql():
        from loyalty.extensions import db

        db.session.execute(text("INSERT INTO api_keys (prefix) VALUES ('p')"))

    @blp.route("/conflict")
    def conflict():
        raise LoyaltyError(409, "insufficient_points", "Not enough points.", {"available": 3})

    return blp


@pytest.fixture
def probe_client(database_url, app_factory):
    app = app_factory(database_url, PROPAGATE_EXCEPTIONS=False, MAX_CONTENT_LENGTH=1024)
    from loyalty.extensions import api

    api.register_blueprint(_probe_blueprint())
    return app.test_client()


def assert_error(response, status, code):
    assert response.status_code == status
    assert response.content_type == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return error


def test_unknown_path_is_a_json_404(client):
    assert_error(client.get("/no/such/thing"), 404, "not_found")


def test_wrong_method_is_a_json_405_with_allow(client):
    response = client.delete("/health")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_oversized_body_is_a_json_413_before_anything_reads_it(probe_client):
    response = probe_client.post("/probe/echo", data=b"x" * 2048, content_type="application/json")
    error = assert_error(response, 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 1024}


def test_malformed_json_is_a_json_400(probe_client):
    response = probe_client.post("/probe/echo", data=b'{"amount": ', content_type="application/json")
    assert_error(response, 400, "malformed_request")


def test_validation_failure_is_a_json_422_naming_the_field(probe_client):
    error = assert_error(probe_client.post("/probe/echo", json={"amount": -1}), 422, "invalid_request")
    assert "amount" in error["details"]["json"]


def test_unknown_field_is_a_json_422(probe_client):
    error = assert_error(probe_client.post("/probe/echo", json={"amount": 1, "points": 5}), 422,
                         "invalid_request")
    assert "points" in error["details"]["json"]


def test_valid_body_passes(probe_client):
    assert probe_client.post("/probe/echo", json={"amount": 7}).get_json() == {"amount": 7}


def test_domain_error_keeps_its_code_and_details(probe_client):
    error = assert_error(probe_client.get("/probe/conflict"), 409, "insufficient_points")
    assert error["details"] == {"available": 3}


def test_unexpected_exception_is_a_json_500_that_shows_nothing_inside(probe_client, caplog):
    response = probe_client.get("/probe/boom")
    assert_error(response, 500, "internal_error")
    body = response.get_data(as_text=True)
    assert "hunter2" not in body and "Traceback" not in body and "RuntimeError" not in body
    assert "hunter2" in caplog.text  # the log keeps the story for the operator


def test_a_sql_error_is_a_500_that_shows_no_sql(probe_client):
    response = probe_client.get("/probe/sql")
    assert_error(response, 500, "internal_error")
    body = response.get_data(as_text=True)
    assert "INSERT" not in body and "api_keys" not in body


def test_a_body_that_is_not_sent_as_json_is_415_not_silently_ignored(app, client, runner):
    from tests.api import bearer, make_key
    shop = bearer(make_key(runner, "shop"))
    for method, path, body in (("PUT", "/v1/customers/c-1", '{"email": "a@b.example"}'),
                               ("POST", "/v1/customers/c-1/quote", '{"order_total": {"amount": 100, "currency": "EUR"}}')):
        for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
            headers = {**shop, **({"Content-Type": content_type} if content_type else {})}
            answer = client.open(path, method=method, data=body, headers=headers)
            assert answer.status_code == 415, (method, path, content_type)
            assert answer.get_json()["error"]["code"] == "unsupported_media_type"
            assert "Content-Type: application/json" in answer.get_json()["error"]["message"]
    assert client.put("/v1/customers/c-1", headers=shop).status_code == 201                 # no body at all: fine
    enrolled = client.put("/v1/customers/c-1", data='{"email": "a@b.example"}',
                          headers={**shop, "Content-Type": "application/json; charset=utf-8"})
    assert enrolled.status_code == 200 and enrolled.get_json()["email"] == "a@b.example"


def test_the_docs_page_with_a_trailing_slash(client):
    answer = client.get("/docs/")
    assert answer.status_code == 308 and answer.headers["Location"] == "/docs"
    assert client.get("/docs").status_code == 200
