"""The vocabularies an escalation is described and routed by (CONTRACT.md §3)."""

from enum import StrEnum


class TriggerKind(StrEnum):
    """What made the detector escalate."""

    KEYWORD = "keyword"
    CONFIDENCE = "confidence"
    CLARIFICATION = "clarification"
    TURN_LIMIT = "turn_limit"
    IDLE = "idle"
    SENTIMENT = "sentiment"
    CONDITION = "condition"


class Urgency(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _URGENCY_RANK[self]

    @property
    def severity(self) -> "Severity":
        """Severity follows urgency: high and critical are critical, medium is a warning."""
        if self in (Urgency.HIGH, Urgency.CRITICAL):
            return Severity.CRITICAL
        if self is Urgency.MEDIUM:
            return Severity.WARNING
        return Severity.INFORMATIONAL


_URGENCY_RANK = {Urgency.LOW: 0, Urgency.MEDIUM: 1, Urgency.HIGH: 2, Urgency.CRITICAL: 3}


class Severity(StrEnum):
    INFORMATIONAL = "informational"
    WARNING = "warning"
    CRITICAL = "critical"


class Topic(StrEnum):
    """What the conversation is about."""

    BILLING = "billing"
    REFUND = "refund"
    COMPLAINT = "complaint"
    SHIPPING = "shipping"
    PRODUCT = "product"
    ACCOUNT = "account"
    TECHNICAL = "technical"
    OTHER = "other"


class Area(StrEnum):
    """Which part of the business the conversation concerns."""

    ORDER = "order"
    PAYMENT = "payment"
    DELIVERY = "delivery"
    ACCOUNT = "account"
    PRODUCT = "product"
    OTHER = "other"


class Category(StrEnum):
    """The built-in kinds of escalation supervisors are scoped by.

    A merchant's trigger condition adds its own category, ``condition:<slug of its label>``.
    """

    HUMAN_REQUEST = "human_request"
    LEGAL = "legal"
    CANCELLATION = "cancellation"
    REFUND = "refund"
    COMPLAINT = "complaint"
    LOW_CONFIDENCE = "low_confidence"
    TURN_LIMIT = "turn_limit"
    IDLE = "idle"
    SENTIMENT = "sentiment"


CONDITION_CATEGORY_PREFIX = "condition:"
