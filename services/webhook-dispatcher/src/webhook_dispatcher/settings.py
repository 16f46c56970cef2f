"""The dispatcher's settings (``WEBHOOK_DISPATCHER_*``). Lists are comma-separated in the
environment, e.g. ``WEBHOOK_DISPATCHER_ALLOW_NETWORKS=127.0.0.1/32,10.1.0.0/16``."""

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from escalator_runtime.settings import ServiceSettings

# Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours.
DEFAULT_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)

Network = IPv4Network | IPv6Network


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class WebhookDispatcherSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="WEBHOOK_DISPATCHER_", env_file=".env", extra="ignore"
    )

    port: int = 8004
    allow_networks: Annotated[tuple[Network, ...], NoDecode] = Field(
        default=(),
        description="Networks the operator allows although they are not public (loopback,"
        " private, ...); empty in production unless receivers live on an internal network.",
    )
    retry_schedule_seconds: Annotated[tuple[float, ...], NoDecode] = Field(
        default=DEFAULT_SCHEDULE,
        min_length=1,
        description="Delay before each attempt: the first from the event, each next one from"
        " the previous failure. Its length is the number of automatic attempts.",
    )
    retry_jitter: float = Field(default=0.2, ge=0.0, le=0.5, description="+-20% by default.")
    request_timeout_seconds: float = Field(default=15.0, gt=0, description="Whole request.")
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    max_in_flight: int = Field(default=64, ge=1, description="Requests at once, all endpoints.")
    max_in_flight_per_host: int = Field(default=4, ge=1, description="Per receiver host:port.")
    lease_seconds: float | None = Field(
        default=None,
        gt=0,
        description="How long a claimed delivery stays reserved; after a crash it is sent again"
        " once the lease expired. Default: the request timeout plus 30 s.",
    )
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    disable_after_seconds: float = Field(
        default=5 * 86_400.0, gt=0, description="An endpoint failing this long is disabled."
    )
    max_retry_after_seconds: float = Field(
        default=86_400.0, ge=0, description="Longest Retry-After honoured."
    )
    max_response_body_bytes: int = Field(default=20 * 1024, ge=0)
    config_refresh_seconds: float = 30.0

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        parts = _split(value)
        if isinstance(parts, list | tuple):
            return tuple(ip_network(str(part), strict=False) for part in parts)
        return parts

    @field_validator("retry_schedule_seconds", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> Any:
        return _split(value)

    @model_validator(mode="after")
    def _non_negative_schedule(self) -> "WebhookDispatcherSettings":
        if any(delay < 0 for delay in self.retry_schedule_seconds):
            raise ValueError("retry delays must not be negative")
        return self

    @property
    def lease(self) -> float:
        return self.lease_seconds or self.request_timeout_seconds + 30.0
