"""``detector``: the escalation decision for every chat message."""

from fastapi import FastAPI

from detector import handlers
from detector.settings import DetectorSettings
from escalator_runtime import config_store
from escalator_runtime.config_store import ConfigView
from escalator_runtime.service import ServiceContext, create_service_app, run


def create_app(settings: DetectorSettings | None = None) -> FastAPI:
    settings = settings or DetectorSettings()

    async def setup(context: ServiceContext) -> None:
        await config_store.migrate(context.pool)
        configs = ConfigView(settings.database_url, context.pool)
        await configs.start()
        context.cleanup.push_async_callback(configs.stop)
        handlers.register(context.broker, settings, configs)

    return create_service_app("detector", settings, setup)


def main() -> None:
    settings = DetectorSettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
