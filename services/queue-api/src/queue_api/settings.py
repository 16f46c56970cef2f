from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from escalator_runtime.settings import ServiceSettings

LOCAL_DEV_SECRET = "escalator-local-development-secret-change-me"  # noqa: S105 - refused below


class QueueApiSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QUEUE_API_", env_file=".env", extra="ignore")

    port: int = 8000
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Where supervisors open the workspace."
    )
    environment: str = Field(default="local", description="'local' allows the dev JWT secret.")
    jwt_secret: SecretStr = SecretStr(LOCAL_DEV_SECRET)
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwks_url: str | None = Field(
        default=None, description="An OIDC provider's JWKS URL; when set, tokens are RS/ES-signed."
    )

    # Requests
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Larger request bodies are refused with 413."
    )

    # Realtime stream
    stream_heartbeat_seconds: float = Field(default=10.0, gt=0)
    stream_poll_seconds: float = Field(
        default=2.0, gt=0, description="Safety net for a missed NOTIFY: compare feed heads."
    )
    stream_queue_size: int = Field(
        default=2000, ge=10, description="Pushes a slow connection may lag before it is closed."
    )
    stream_retention_hours: float = Field(
        default=72.0, gt=0, description="How far back a reconnecting client can replay."
    )

    # Outbox relay
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    outbox_batch_size: int = Field(default=200, ge=1, le=10_000)

    # Unclaimed escalations
    sla_seconds_override: int | None = Field(
        default=None,
        ge=1,
        description="Every agent's unclaimed_sla_seconds, overridden (tests, incident drills).",
    )
    sla_sweep_interval_seconds: float = Field(default=5.0, gt=0)

    # Summaries: an OpenAI-compatible endpoint; offline summaries when unset or failing
    summary_llm_base_url: str | None = Field(
        default=None, description="e.g. https://api.openai.com/v1"
    )
    summary_llm_model: str = "gpt-4o-mini"
    summary_llm_api_key: SecretStr | None = None
    summary_llm_timeout_seconds: float = Field(default=10.0, gt=0)

    # Browser sign-in (the workspace pages): an OIDC provider's authorization code + PKCE flow.
    # Tokens it issues must carry `tenant_id` and `role` claims; set jwks_url (and jwt_issuer,
    # jwt_audience, jwt_algorithms such as RS256) so the API verifies them.
    oidc_issuer_url: str | None = Field(
        default=None,
        description="The provider's issuer; the browser reads <issuer>/.well-known/"
        "openid-configuration. Unset: the local sign-in form (local environment only).",
    )
    oidc_client_id: str | None = Field(
        default=None,
        description="A public client registered with redirect URI <public_url>/signin.",
    )
    oidc_scope: str = "openid profile email"
    oidc_audience: str | None = Field(
        default=None, description="Sent as `audience` to providers that need it (e.g. Auth0)."
    )
    oidc_token: Literal["access_token", "id_token"] = Field(
        default="access_token", description="Which token of the provider's answer is the bearer."
    )
    oidc_connect_origins: tuple[str, ...] = Field(
        default=(),
        description="Origins the browser may call besides the issuer's (e.g. a token endpoint"
        " on another host), for the pages' Content-Security-Policy.",
    )
    preview_handoff_retention_days: float = Field(
        default=7.0, gt=0, description="How long the preview chat keeps handoff messages."
    )
    dev_token_hours: float = Field(
        default=12.0, gt=0, le=168, description="Validity of the local sign-in form's tokens."
    )

    # Stored conversations and backtests (issue 11)
    conversation_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="Conversations whose last message is older are deleted (backtests and the"
        " tuning report read them).",
    )
    conversation_batch_wait_ms: int = Field(
        default=250,
        ge=0,
        le=5_000,
        description="How long the broker gathers chat messages for the conversation store"
        " before answering its fetch (0: as soon as one arrives). Nobody waits on that store,"
        " and a few large batches cost a fraction of many single-message ones.",
    )
    detector_url: str = Field(
        default="http://127.0.0.1:8001", description="The detector, for backtests."
    )
    detector_token: SecretStr | None = Field(
        default=None, description="The detector's DETECTOR_BACKTEST_TOKEN, when it has one."
    )
    detector_timeout_seconds: float = Field(
        default=60.0, gt=0, description="How long a backtest may take before answering 504."
    )

    # Tuning report (issue 9)
    tuning_frustration_watch_level: float = Field(
        default=0.4,
        ge=0.0,
        le=1.0,
        description="A conversation never escalated whose customer's frustration (detector"
        " score) peaks at or above this counts as a missed escalation; below the sentiment"
        " trigger's 0.5, so near misses count too.",
    )
    tuning_scoring_max_conversations: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="Conversations the detector scores per report request; the rest next time.",
    )
    tuning_scoring_timeout_seconds: float = Field(
        default=20.0, gt=0, description="How long a report request waits for frustration scores."
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> "QueueApiSettings":
        if (
            self.environment != "local"
            and self.jwks_url is None
            and self.jwt_secret.get_secret_value() == LOCAL_DEV_SECRET
        ):
            raise ValueError("QUEUE_API_JWT_SECRET must be set outside local development")
        return self

    @model_validator(mode="after")
    def _oidc_complete(self) -> "QueueApiSettings":
        if bool(self.oidc_issuer_url) != bool(self.oidc_client_id):
            raise ValueError("set QUEUE_API_OIDC_ISSUER_URL and QUEUE_API_OIDC_CLIENT_ID together")
        return self
