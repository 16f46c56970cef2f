"""``queue-api``: the supervisors' queue (REST + WebSocket) and the escalation settings."""

from fastapi import FastAPI

from escalator_runtime import config_store
from escalator_runtime.db import apply_migrations
from escalator_runtime.service import ServiceContext, create_service_app, run
from queue_api import api, config_api, handlers, problems, webhooks_api
from queue_api.auth import TokenVerifier
from queue_api.settings import QueueApiSettings


def create_app(settings: QueueApiSettings | None = None) -> FastAPI:
    settings = settings or QueueApiSettings()
    app = FastAPI(
        title="Escalator queue API",
        version="1.0.0",
        description="The supervisors' realtime escalation queue and the escalation settings.",
    )

    async def setup(context: ServiceContext) -> None:
        await config_store.migrate(context.pool)
        await apply_migrations(context.pool, "queue-api", "queue_api.migrations")
        handlers.register(context.broker, context)

    app.state.token_verifier = TokenVerifier(settings)
    problems.install(app)
    app.include_router(api.router)
    app.include_router(config_api.router)
    app.include_router(webhooks_api.router)
    return create_service_app("queue-api", settings, setup, app=app)


def main() -> None:
    settings = QueueApiSettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
