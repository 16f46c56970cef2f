from pydantic_settings import SettingsConfigDict

from escalator_runtime.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTER_", env_file=".env", extra="ignore")

    port: int = 8002
