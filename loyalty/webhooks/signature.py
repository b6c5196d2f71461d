"""Webhook signatures: Stripe's scheme (`t=<unix>,v1=<hex>`, HMAC-SHA256 of `"<t>.<raw body>"`)
for both endpoints, verified with the `stripe` package on the raw body. Several `v1=`
signatures are accepted (secret rotation); a timestamp more than the tolerance away from
now, in the past or the future, is refused."""
import time

import stripe

from loyalty.errors import LoyaltyError

TOLERANCE_SECONDS = 300


def verify(raw_body, header, secret, now=None):
    """Raise a 400 unless `header` signs `raw_body` with `secret` within the tolerance."""
    if secret is None:
        raise LoyaltyError(503, "webhook_not_configured", "This webhook endpoint has no signing secret configured.",
                           headers={"Retry-After": "60"})
    try:
        payload = raw_body.decode("utf-8")
        stripe.WebhookSignature.verify_header(payload, header, secret, TOLERANCE_SECONDS)
        timestamp, _ = stripe.WebhookSignature._get_timestamp_and_signatures(header, "v1")
    except stripe.SignatureVerificationError as error:
        if "tolerance" in str(error):
            raise LoyaltyError(400, "stale_signature", "The signature timestamp is too old.") from None
        raise LoyaltyError(400, "bad_signature", "The signature is missing, malformed or does not match.") from None
    except UnicodeDecodeError:
        raise LoyaltyError(400, "malformed_request", "The body is not UTF-8 text.") from None
    if timestamp > (now or time.time()) + TOLERANCE_SECONDS:
        raise LoyaltyError(400, "stale_signature", "The signature timestamp is in the future.")
    return payload
