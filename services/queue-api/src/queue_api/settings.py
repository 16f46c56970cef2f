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

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> "QueueApiSettings":
        if (
            self.environment != "local"
            and self.jwks_url is None
            and self.jwt_secret.get_secret_value() == LOCAL_DEV_SECRET
        ):
            raise ValueError("QUEUE_API_JWT_SECRET must be set outside local development")
        return self
