"""What chat backends publish on ``chat.messages`` (CONTRACT.md §2)."""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Id128 = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Id64 = Annotated[str, StringConstraints(min_length=1, max_length=64)]

MAX_TEXT_CHARS = 16_000


class Environment(StrEnum):
    """Which configuration applies: ``preview`` uses the draft, ``published`` the live one."""

    PREVIEW = "preview"
    PUBLISHED = "published"


class Role(StrEnum):
    """Who wrote a chat message."""

    CUSTOMER = "customer"
    AI = "ai"
    HUMAN = "human"


class CustomerProfile(BaseModel):
    """A snapshot of the end user's profile, as the chat backend knows it."""

    model_config = ConfigDict(frozen=True)

    id: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    locale: str | None = Field(default=None, max_length=35)
    attributes: dict[str, Any] = Field(default_factory=dict)


class ChatMessage(BaseModel):
    """One message of a conversation between a customer and an AI support agent.

    Keyed by ``conversation_id`` on ``chat.messages``; ``message_id`` is the idempotency key.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_id: Id128
    conversation_id: Id128
    tenant_id: Id64
    agent_id: Id64
    environment: Environment = Environment.PUBLISHED
    role: Role
    text: str = Field(default="", max_length=MAX_TEXT_CHARS)
    sent_at: AwareDatetime
    ai_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    customer: CustomerProfile | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
