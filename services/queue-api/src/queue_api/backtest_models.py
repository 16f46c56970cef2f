"""What ``POST /api/v1/agents/{agent_id}/backtest`` accepts and answers.

The per-conversation outcomes and the report are the detector's (``escalator_schemas.backtest``);
queue-api re-validates them, so a detector answering something else is a 502, never a malformed
answer to the browser.
"""

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from escalator_schemas.backtest import BacktestReport, ConversationResult
from escalator_schemas.chat import Environment
from escalator_schemas.config import EscalationConfig

MAX_UPLOAD_CHARS = 50_000_000


class BacktestAsk(BaseModel):
    """Which draft to try, on which conversations."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    config: EscalationConfig | None = Field(
        default=None,
        description="A configuration to try as it is (unsaved edits); default: the stored draft.",
    )
    days: int = Field(default=7, ge=1, le=90, description="The last N days (without from/to).")
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = Field(default=None, description="Default: now.")
    environment: Environment = Field(
        default=Environment.PUBLISHED, description="Whose stored conversations to replay."
    )
    conversations_jsonl: str | None = Field(
        default=None,
        max_length=MAX_UPLOAD_CHARS,
        description="Replay these instead of the stored conversations: JSON lines, either one"
        ' conversation per line (`{"id", "messages": [{"role", "text",'
        ' "ai_confidence"}...], "flag"}`, the format of the labelled datasets; a line\'s'
        " `config` is ignored) or one ChatMessage per line.",
    )


class BacktestPeriod(BaseModel):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")

    model_config = ConfigDict(populate_by_name=True)


class BacktestAnswer(BaseModel):
    """What the draft would have done, next to what the published configuration did."""

    agent_id: str
    environment: Environment
    source: Literal["stored", "upload"]
    period: BacktestPeriod | None = Field(description="For stored conversations.")
    truncated: bool = Field(
        description="The period has more conversations than one backtest replays; the most"
        " recent ones were replayed."
    )
    draft: Literal["stored_draft", "inline", "defaults"]
    draft_version: int | None
    published_version: int | None = Field(description="None: nothing published to compare.")
    notes: list[str]
    results: list[ConversationResult]
    report: BacktestReport
    elapsed_ms: float = Field(description="The detector's time for the replay.")
