"""``router``: the supervisors each escalation goes to."""

from fastapi import FastAPI

from escalator_runtime import config_store
from escalator_runtime.config_store import ConfigView
from escalator_runtime.service import ServiceContext, create_service_app, run
from router import handlers
from router.settings import RouterSettings


def create_app(settings: RouterSettings | None = None) -> FastAPI:
    settings = settings or RouterSettings()

    async def setup(context: ServiceContext) -> None:
        await config_store.migrate(context.pool)
        configs = ConfigView(settings.database_url, context.pool)
        await configs.start()
        context.cleanup.push_async_callback(configs.stop)
        handlers.register(context.broker, settings, configs)

    return create_service_app("router", settings, setup)


def main() -> None:
    settings = RouterSettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
