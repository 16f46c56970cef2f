from pydantic_settings import SettingsConfigDict

from escalator_runtime.settings import ServiceSettings


class DetectorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DETECTOR_", env_file=".env", extra="ignore")

    port: int = 8001
