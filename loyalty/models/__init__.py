"""The stored state: customers and their cached standing, orders, the append-only
ledger, programme versions, received webhook events, API keys and dashboard sessions, and events out (endpoints, outbox, deliveries)."""
from loyalty.models.admin_session import AdminSession
from loyalty.models.api_key import ApiKey
from loyalty.models.customer import Customer
from loyalty.models.ledger import LedgerEntry
from loyalty.models.order import Order
from loyalty.models.programme_version import ProgrammeAudit, ProgrammeBacktest, ProgrammeVersion
from loyalty.models.outbox import Delivery, DeliveryAttempt, OutboundEvent, WebhookEndpoint
from loyalty.models.support import Redemption, SupportAction
from loyalty.models.timeline import ParkedRefund, SpendBucket, TierReview, TimelineEvent
from loyalty.models.webhook_event import WebhookEvent

__all__ = ["AdminSession", "ApiKey", "Customer", "Delivery", "DeliveryAttempt", "LedgerEntry", "Order", "OutboundEvent", "ParkedRefund",
           "ProgrammeAudit", "ProgrammeBacktest", "ProgrammeVersion",
           "Redemption", "SpendBucket", "SupportAction", "TierReview", "TimelineEvent", "WebhookEndpoint", "WebhookEvent"]
