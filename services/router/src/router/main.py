"""``router``: the supervisors each escalation goes to, and whom to suggest."""

from fastapi import FastAPI

from escalator_runtime import config_store
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import apply_migrations
from escalator_runtime.service import ServiceContext, create_service_app, run
from router import handlers
from router.settings import RouterSettings


def create_app(settings: RouterSettings | None = None) -> FastAPI:
    settings = settings or RouterSettings()

    async def setup(context: ServiceContext) -> None:
        await config_store.migrate(context.pool)
        await apply_migrations(context.pool, "router", "router.migrations")
        configs = ConfigView(settings.database_url, context.pool)
        await configs.start()
        context.cleanup.push_async_callback(configs.stop)
        context.extras["configs"] = configs
        handlers.register(context.broker, settings, context.pool, configs)

    return create_service_app("router", settings, setup)


def main() -> None:
    settings = RouterSettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
