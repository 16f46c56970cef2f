from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from escalator_runtime.settings import ServiceSettings
from notifier.service import Sender

SmtpSecurity = Literal["none", "starttls", "tls"]

_PLACEHOLDERS = frozenset({"", "changethis", "changeme", "password", "secret"})


class NotifierSettings(ServiceSettings):
    """Where emails go and how hard the notifier tries. Every field is ``NOTIFIER_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="NOTIFIER_", env_file=".env", extra="ignore", frozen=True
    )

    port: int = 8003

    public_url: str = Field(
        default="http://127.0.0.1:8000",
        pattern=r"^https?://",
        description="Base URL of the supervisor UI; emails link to {public_url}/queue?…",
    )

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: SmtpSecurity = Field(
        default="none",
        description="none (local relay, e.g. Mailpit), starttls (usually port 587) or tls"
        " (implicit TLS, usually port 465).",
    )
    smtp_validate_certs: bool = True
    smtp_ca_file: str | None = Field(
        default=None, description="PEM bundle to verify the server with, instead of the system's."
    )
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    smtp_connections: int = Field(
        default=2, ge=1, le=32, description="Parallel SMTP connections, each reused."
    )
    smtp_idle_seconds: float = Field(
        default=10.0, ge=0, description="A connection idle this long is closed, not reused."
    )

    sender_address: str = Field(
        default="escalations@escalator.localhost", pattern=r"^[^@\s<>]+@[^@\s<>]+$"
    )
    sender_name: str = Field(default="Escalator", max_length=100)

    retry_base_seconds: float = Field(
        default=5.0, gt=0, description="Delay before the first retry of a transient failure."
    )
    retry_max_seconds: float = Field(default=1800.0, gt=0)
    max_attempts: int = Field(
        default=20, ge=1, description="After this many transient failures an email is failed."
    )
    lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a claimed email is reserved for the sender that claimed it; a"
        " sender that died releases it when the lease runs out.",
    )
    send_batch: int = Field(default=10, ge=1, le=500, description="Emails claimed at a time.")
    poll_seconds: float = Field(
        default=1.0, gt=0, description="Longest wait before looking for due emails again."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.retry_max_seconds < self.retry_base_seconds:
            raise ValueError("retry_max_seconds must not be below retry_base_seconds")
        if self.lease_seconds <= 3 * self.smtp_timeout_seconds + 1:
            # One attempt (connect and send) may take up to 3 * smtp_timeout_seconds.
            raise ValueError("lease_seconds must exceed 3 * smtp_timeout_seconds + 1")
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("set both smtp_username and smtp_password, or neither")
        if (
            self.smtp_password is not None
            and self.smtp_password.get_secret_value().lower() in _PLACEHOLDERS
        ):
            raise ValueError("smtp_password is a placeholder; set the relay's real password")
        return self

    @property
    def sender(self) -> Sender:
        return Sender(self.sender_name, self.sender_address)
