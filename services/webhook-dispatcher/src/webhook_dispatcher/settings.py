from pydantic_settings import SettingsConfigDict

from escalator_runtime.settings import ServiceSettings


class WebhookDispatcherSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="WEBHOOK_DISPATCHER_", env_file=".env", extra="ignore"
    )

    port: int = 8004
