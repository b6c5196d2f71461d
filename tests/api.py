"""Credentials for API tests: keys made with the real `loyalty keys create`, tokens with PyJWT."""
import time

import jwt

from tests.conftest import TEST_SECRETS


def make_key(runner, scope, name=""):
    result = runner.invoke(args=["keys", "create", "--scope", scope, "--name", name])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def token(customer_id, secret=TEST_SECRETS["LOYALTY_TOKEN_SECRET"], expires_in=3600, algorithm="HS256", **claims):
    payload = {"sub": customer_id, "exp": int(time.time()) + expires_in, **claims}
    return jwt.encode(payload, secret, algorithm=algorithm)


def bearer(credential):
    return {"Authorization": f"Bearer {credential}"}
