"""Settings every service shares. Each service subclasses with its own env prefix.

Addresses come from the unprefixed variables the contract names (``KAFKA_BOOTSTRAP_SERVERS``,
``DATABASE_URL``) so one ``.env`` serves the whole stack.
"""

from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _may_be_none(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, UnionType) and NoneType in get_args(annotation)


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any, info: ValidationInfo) -> Any:
        """An optional setting given empty (``DETECTOR_LLM_BASE_URL=`` in an env file, or a
        compose ``${VAR:-}``) is None: no LLM, no limit. Not an empty URL, nor a refusal."""
        name = info.field_name
        if value == "" and name is not None and _may_be_none(cls.model_fields[name].annotation):
            return None
        return value

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    database_url: str = Field(
        default="postgresql://escalator:escalator@127.0.0.1:5432/escalator",
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
    )
    # Managed clusters (Confluent Cloud, MSK, Aiven, Event Hubs...) want TLS and SASL.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        validation_alias=AliasChoices("KAFKA_SECURITY_PROTOCOL", "kafka_security_protocol"),
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="PLAIN",
        validation_alias=AliasChoices("KAFKA_SASL_MECHANISM", "kafka_sasl_mechanism"),
        description="With SASL_PLAINTEXT or SASL_SSL.",
    )
    kafka_sasl_username: str | None = Field(
        default=None, validation_alias=AliasChoices("KAFKA_SASL_USERNAME", "kafka_sasl_username")
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("KAFKA_SASL_PASSWORD", "kafka_sasl_password")
    )
    kafka_ssl_cafile: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SSL_CAFILE", "kafka_ssl_cafile"),
        description="CA bundle (PEM) that signed the brokers' certificates, with SSL or SASL_SSL;"
        " unset: the system's CAs.",
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
        default=False,
        validation_alias=AliasChoices("LOG_MESSAGE_TEXT", "log_message_text"),
        description="Log chat message texts at info level (off: they are PII).",
    )
    db_pool_max_size: int = 10
    # Every Kafka hop adds these waits; `make bench` measures what they cost end to end.
    kafka_fetch_max_wait_ms: int = Field(
        default=100,
        ge=1,
        description="Longest time the broker holds a fetch open when it has nothing new (it"
        " answers as soon as a record arrives). Idle consumers fetch this often; after a slow"
        " batch, aiokafka may make a just-drained partition wait up to this long.",
    )
    kafka_batch_timeout_ms: int = Field(
        default=500,
        ge=1,
        description="How long a consumer's poll waits for a first record; it returns as soon as"
        " one arrives, so this only sets how often an idle consumer wakes up.",
    )
    gc_gen0_threshold: int = Field(
        default=20_000,
        ge=0,
        description="Allocations between two young-generation garbage collections once the"
        " service has started (Python's default is 700); what start-up built (lexicons, models,"
        " schemas) is frozen out of every collection. 0 leaves the collector as Python sets it.",
    )
    kafka_commit_interval_ms: int = Field(
        default=100,
        ge=0,
        le=60_000,
        description="How often a consumer commits the offsets of the batches it handled, in the"
        " background (0: after every batch, before the next poll). A crash replays at most this"
        " much of handled records, which every handler tolerates.",
    )
    kafka_batch_max_records: int = Field(
        default=500, ge=1, description="Records per batch at most: throughput under a backlog."
    )
    kafka_linger_ms: int = Field(
        default=0,
        ge=0,
        description="How long a producer waits to fill a batch. Services publish a trickle next"
        " to what they consume, and batches form anyway while a request is in flight.",
    )
