"""``notifier``: one email to each matching supervisor per escalation, and a reminder when
nobody claims it in time. Kafka handlers fill a PostgreSQL outbox; a sender delivers it."""

from fastapi import FastAPI

from escalator_runtime import config_store
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import apply_migrations
from escalator_runtime.service import ServiceContext, create_service_app, run
from notifier import handlers
from notifier.sender import EmailSender
from notifier.settings import NotifierSettings


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    settings = settings or NotifierSettings()

    async def setup(context: ServiceContext) -> None:
        await config_store.migrate(context.pool)
        await apply_migrations(context.pool, "notifier", "notifier.migrations")
        configs = ConfigView(settings.database_url, context.pool)
        await configs.start()
        context.cleanup.push_async_callback(configs.stop)
        sender = EmailSender(context.pool, settings)
        await sender.start()
        context.cleanup.push_async_callback(sender.stop)
        context.extras["configs"] = configs
        context.extras["sender"] = sender
        handlers.register(context.broker, settings, context.pool, configs, sender)

    return create_service_app("notifier", settings, setup)


def main() -> None:
    settings = NotifierSettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
