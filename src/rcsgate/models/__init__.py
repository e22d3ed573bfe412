"""Every table, one file each; importing this package registers them all on one metadata."""

from rcsgate.models.account import Account
from rcsgate.models.agent import Agent, AgentOperator
from rcsgate.models.api_key import ApiKey
from rcsgate.models.base import Base
from rcsgate.models.brand import Brand
from rcsgate.models.bundle import Bundle, BundleTag
from rcsgate.models.conversation import Conversation
from rcsgate.models.idempotency import IdempotencyKey
from rcsgate.models.inbound_fingerprint import InboundFingerprint
from rcsgate.models.job import Job
from rcsgate.models.message import Message, MessageEvent
from rcsgate.models.message_ref import MessageRef
from rcsgate.models.portal_session import PortalSession
from rcsgate.models.sms_reply_route import SmsReplyRoute
from rcsgate.models.sms_sender import SmsSender
from rcsgate.models.unroutable_inbound import UnroutableInbound, UnroutableReason
from rcsgate.models.user import User
from rcsgate.models.webhook_attempt import WebhookAttempt
from rcsgate.models.webhook_delivery import WebhookDelivery
from rcsgate.models.webhook_endpoint import WebhookEndpoint

__all__ = [
    "Account",
    "Agent",
    "AgentOperator",
    "ApiKey",
    "Base",
    "Brand",
    "Bundle",
    "BundleTag",
    "Conversation",
    "IdempotencyKey",
    "InboundFingerprint",
    "Job",
    "Message",
    "MessageEvent",
    "MessageRef",
    "PortalSession",
    "SmsReplyRoute",
    "SmsSender",
    "UnroutableInbound",
    "UnroutableReason",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
