"""Nothing lost: with the database really gone a webhook answers 503 with Retry-After, so
the sender retries (it was not recorded, so it was never answered 2xx); once the database
is back the re-sent event counts exactly once. The worker under an outage is in
test_e2e_worker.py."""

from loyalty.extensions import db
from tests import state
from tests.api import bearer, make_key
from tests.conftest import migrated_app
from tests.webhooks import deliver_shop, post_shop, purchase


def test_webhook_during_an_outage_is_refused_for_retry_and_counted_once_after(own_postgres, app_factory):
    own_server = own_postgres
    app = migrated_app(app_factory, own_server.create_database("outage"))
    client = app.test_client()
    assert deliver_shop(client, purchase(order="before", amount=10_000)) == "processed"
    key = bearer(make_key(app.test_cli_runner(), "shop"))
    assert client.get("/v1/customers/c-42/balance", headers=key).status_code == 200     # the key is cached now

    own_server.stop()
    delayed = purchase(order="during", amount=20_000)
    refused = post_shop(client, delayed)
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == "storage_unavailable"
    body = refused.get_data(as_text=True)
    assert "psycopg" not in body and "127.0.0.1" not in body and "INSERT" not in body
    assert client.get("/health").status_code == 503
    balance = client.get("/v1/customers/c-42/balance", headers=key)      # read on the driver (loyalty/autocommit.py)
    assert balance.status_code == 503 and balance.get_json()["error"]["code"] == "storage_unavailable"
    assert "psycopg" not in balance.get_data(as_text=True) and "SELECT" not in balance.get_data(as_text=True)

    own_server.start()
    own_server.wait_until_accepting()
    assert client.get("/health").status_code == 200
    assert deliver_shop(client, delayed) == "processed"
    assert post_shop(client, delayed).get_json() == {"status": "duplicate"}
    assert state.customer(app, "c-42")["pending"] == 100 + 100 + 200     # welcome once, both purchases
    assert client.get("/v1/customers/c-42/balance", headers=key).get_json()["points"]["pending"] == 400
    with app.app_context():
        db.engine.dispose()
