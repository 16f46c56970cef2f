"""``detector``: the escalation decision for every chat message."""

from fastapi import FastAPI

from detector import handlers
from detector.backtest import api as backtest_api
from detector.judges import build_judge
from detector.settings import DetectorSettings
from detector.store import StateStore
from escalator_runtime import config_store
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import apply_migrations
from escalator_runtime.kafka import GRACE_SECONDS
from escalator_runtime.service import ServiceContext, create_service_app, run


def create_app(settings: DetectorSettings | None = None) -> FastAPI:
    settings = settings or DetectorSettings()

    async def setup(context: ServiceContext) -> None:
        await config_store.migrate(context.pool)
        await apply_migrations(context.pool, "detector", "detector.migrations")
        configs = ConfigView(settings.database_url, context.pool)
        await configs.start()
        context.cleanup.push_async_callback(configs.stop)
        judge = await context.cleanup.enter_async_context(build_judge(settings))
        store = StateStore(context.pool, settings.state_cache_size)
        waits = handlers.register(context.broker, settings, store, configs, judge)
        context.stopping.push_async_callback(waits.stop, GRACE_SECONDS)
        await context.cleanup.enter_async_context(
            handlers.idle_timer(context.broker, store, configs, settings)
        )

    app = create_service_app("detector", settings, setup)
    # Issue 11: backtests of draft policies, for queue-api.
    backtest_api.install(app, settings)
    return app


def main() -> None:
    settings = DetectorSettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
