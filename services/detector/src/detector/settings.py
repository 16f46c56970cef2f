from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from escalator_runtime.settings import ServiceSettings


class DetectorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DETECTOR_", env_file=".env", extra="ignore")

    port: int = 8001
    idle_sweep_seconds: float = Field(
        default=5.0, gt=0, description="How often waiting conversations are checked."
    )
    state_retention_days: int = Field(
        default=30, ge=1, description="Conversation state untouched this long is forgotten."
    )
    state_cache_size: int = Field(
        default=20_000,
        ge=0,
        description="Conversation states kept in memory between batches (the most recently"
        " used). A batch of cached conversations costs one database statement, else two.",
    )
    consumers: int = Field(
        default=2,
        ge=1,
        le=12,
        description="chat.messages consumers in this process (one consumer group): each owns its"
        " own partitions and handles its batches while the others wait on the database or the"
        " model, so one slow batch does not hold up every conversation.",
    )
    batch_wait_ms: int = Field(
        default=5,
        ge=0,
        le=1_000,
        description="How long the broker gathers chat messages before answering the detector's"
        " fetch (0: as soon as one arrives). A batch costs about a millisecond of CPU whatever its"
        " size: fewer, larger batches, for up to this much more wait (README: the trade measured).",
    )
    model_read_ahead: int = Field(
        default=1_000,
        ge=1,
        le=100_000,
        description="Chat messages the detector may read past the oldest batch still waiting on"
        " the model (or an external LLM) before it waits for that batch. Its offsets are held"
        " until then, so this is what a crash or a rebalance reads again, at most.",
    )
    judge_use_model: bool = Field(
        default=True,
        description="Consult the embedding model where the lexical cues leave a decision open;"
        " off, the cues decide alone (fastest).",
    )
    judge_model_for_escalation_urgency: bool = Field(
        default=False,
        validation_alias=AliasChoices(
            "DETECTOR_JUDGE_MODEL_FOR_ESCALATION_URGENCY",
            "DETECTOR_JUDGE_MODEL_FOR_KEYWORD_URGENCY",  # its name until 2026-11-25
            "judge_model_for_escalation_urgency",
        ),
        description="Also wait for the embedding model to set the urgency of a message that"
        " escalates anyway: an escalation keyword, or anger or urgency the lexical cues are sure"
        " of (anger with an urgent demand: critical). Off, the cues set that level and such"
        " escalations never wait on the model: of the 602 escalations in the 1,220 labelled"
        " conversations of dev.jsonl and holdout-holdout11, 14 urgencies differ (the model's"
        " matches the label in 10, the cues' in 4).",
    )
    judge_model_max_wait_ms: int | None = Field(
        default=300,
        ge=0,
        description="A message that had already waited this long in chat.messages when it was"
        " read (a backlog: the detector is behind) is judged from the lexical cues alone, so the"
        " backlog drains instead of growing behind the model. Measured from the record's"
        " timestamp: the producer's (or, with LogAppendTime, the broker's) clock must agree with"
        " the detector's (NTP). Empty: the model is always asked.",
    )
    judge_model_time_share: float | None = Field(
        default=0.5,
        gt=0,
        le=2,
        description="CPU share the embedding model may use (cores); past it the lexical cues"
        " decide alone. Empty for no limit.",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="An OpenAI-compatible API (e.g. https://api.openai.com/v1) to judge trigger"
        " conditions; the embedded model judges when unset or failing.",
    )
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=3.0, gt=0)
    backtest_token: SecretStr | None = Field(
        default=None,
        description="When set, POST /internal/v1/backtest needs it as a bearer token (give"
        " queue-api the same value as QUEUE_API_DETECTOR_TOKEN).",
    )
