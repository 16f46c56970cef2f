"""What a backtest is asked (conversations, named configurations, a baseline) and answers (one
outcome per conversation and configuration, and the aggregate report).

The wire format of the detector's ``POST /internal/v1/backtest``, shared by the detector (which
serves it) and queue-api (which calls it for backtests and to score frustration).
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from escalator_schemas.chat import ChatMessage, Id128
from escalator_schemas.config import EscalationConfig

MAX_CONFIGS = 4
MAX_CONVERSATIONS = 20_000
MAX_MESSAGES_PER_CONVERSATION = 1_000
MAX_MESSAGES = 200_000

ConfigName = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Flag = Literal["false_escalation", "missed"]
"""What a supervisor said about a conversation: it escalated but the AI could have handled it
(``false_escalation``), or it should have escalated and did not (``missed``)."""


class BacktestConversation(BaseModel):
    """One past conversation, its messages oldest first (the order the detector saw them)."""

    model_config = ConfigDict(extra="forbid")

    conversation_id: Id128
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES_PER_CONVERSATION)
    flag: Flag | None = None

    @model_validator(mode="after")
    def _messages_of_this_conversation(self) -> "BacktestConversation":
        first = self.messages[0]
        for message in self.messages:
            if message.conversation_id != self.conversation_id:
                raise ValueError(
                    f"message {message.message_id} belongs to conversation "
                    f"{message.conversation_id}, not {self.conversation_id}"
                )
            if (message.tenant_id, message.agent_id, message.environment) != (
                first.tenant_id,
                first.agent_id,
                first.environment,
            ):
                raise ValueError("all messages must share tenant_id, agent_id and environment")
        return self


class BacktestRequest(BaseModel):
    """Replay ``conversations`` under each of ``configs``; compare them with ``baseline``."""

    model_config = ConfigDict(extra="forbid")

    configs: dict[ConfigName, EscalationConfig] = Field(min_length=1, max_length=MAX_CONFIGS)
    baseline: ConfigName | None = Field(
        default=None, description="The configuration the others are compared with."
    )
    conversations: list[BacktestConversation] = Field(max_length=MAX_CONVERSATIONS)

    @model_validator(mode="after")
    def _consistent(self) -> "BacktestRequest":
        if self.baseline is not None and self.baseline not in self.configs:
            raise ValueError(f"baseline {self.baseline!r} is not one of the configs")
        ids = [c.conversation_id for c in self.conversations]
        if len(set(ids)) != len(ids):
            raise ValueError("conversation ids must be unique")
        if sum(len(c.messages) for c in self.conversations) > MAX_MESSAGES:
            raise ValueError(f"at most {MAX_MESSAGES} messages in all")
        return self


class Outcome(BaseModel):
    """What one configuration would have done with one conversation."""

    escalated: bool
    trigger_message_id: str | None
    trigger: str | None = Field(description="The deciding trigger's kind.")
    triggers: list[str] = Field(description="Every trigger kind that fired, deciding one first.")
    urgency: str | None


class ConversationResult(BaseModel):
    conversation_id: str
    peak_frustration: float = Field(
        ge=0.0,
        le=1.0,
        description="The highest anger/frustration score the detector read in the customer's"
        " messages (the sentiment trigger fires from 0.5).",
    )
    outcomes: dict[str, Outcome]


class ConfigFigures(BaseModel):
    """One configuration over all the conversations."""

    escalated: int
    escalation_rate: float
    by_trigger: dict[str, int] = Field(description="Escalations by deciding trigger kind.")
    by_urgency: dict[str, int]


class Changes(BaseModel):
    """A configuration versus the baseline."""

    newly_escalating: list[str] = Field(description="Conversation ids only it escalates.")
    no_longer_escalating: list[str] = Field(description="Ids only the baseline escalates.")


class FlaggedFigures(BaseModel):
    """A configuration on the conversations supervisors flagged."""

    false_escalations: int = Field(description="Flagged: the AI could have handled it.")
    no_longer_escalated: list[str]
    still_escalated: list[str]
    missed: int = Field(description="Flagged: it should have escalated.")
    now_caught: list[str]
    still_missed: list[str]


class BacktestReport(BaseModel):
    conversations: int
    messages: int
    baseline: str | None
    configs: dict[str, ConfigFigures]
    changes: dict[str, Changes] = Field(
        description="Every configuration but the baseline, versus the baseline (empty without one)."
    )
    flagged: dict[str, FlaggedFigures]
    judged: int = Field(description="Customer messages read by the language judge, all configs.")
    judged_with_model: int = Field(description="Of those, read with the embedding model.")


class BacktestResponse(BaseModel):
    results: list[ConversationResult]
    report: BacktestReport
    elapsed_ms: float
