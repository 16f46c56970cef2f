from pydantic_settings import SettingsConfigDict

from escalator_runtime.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", env_file=".env", extra="ignore")

    port: int = 8003
