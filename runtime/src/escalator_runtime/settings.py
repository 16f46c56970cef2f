"""Settings every service shares. Each service subclasses with its own env prefix.

Addresses come from the unprefixed variables the contract names (``KAFKA_BOOTSTRAP_SERVERS``,
``DATABASE_URL``) so one ``.env`` serves the whole stack.
"""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    database_url: str = Field(
        default="postgresql://escalator:escalator@127.0.0.1:5432/escalator",
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
    )
    kafka_group_suffix: str = Field(
        default="",
        validation_alias=AliasChoices("KAFKA_GROUP_SUFFIX", "kafka_group_suffix"),
        description="Appended to every consumer group (the service's name); for isolated"
        " test runs sharing one broker. Empty in production.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    log_json: bool | None = Field(
        default=None,
        validation_alias=AliasChoices("LOG_JSON", "log_json"),
        description="JSON logs; by default when stderr is not a terminal.",
    )
    log_message_text: bool = Field(
        default=False, description="Log chat message texts at info level (off: they are PII)."
    )
    db_pool_max_size: int = 10
    # Small fetch waits keep the end-to-end latency low; batches still fill up under load.
    kafka_fetch_max_wait_ms: int = 20
    kafka_batch_max_records: int = 500
    kafka_linger_ms: int = 1
