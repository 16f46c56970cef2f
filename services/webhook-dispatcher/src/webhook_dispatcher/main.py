"""``webhook-dispatcher``: delivers signed escalation events to integrators (Standard Webhooks).

The Kafka handler only queues deliveries in PostgreSQL; the sender leases due ones, POSTs them
through the SSRF-guarded client and records every attempt.
"""

import logging

from fastapi import FastAPI

from escalator_runtime import config_store
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import apply_migrations
from escalator_runtime.service import ServiceContext, create_service_app, run
from webhook_dispatcher import handlers
from webhook_dispatcher.sender import WebhookSender
from webhook_dispatcher.settings import WebhookDispatcherSettings
from webhook_dispatcher.transport import webhook_client

SERVICE = "webhook-dispatcher"


async def migrate(context: ServiceContext) -> None:
    await config_store.migrate(context.pool)
    await apply_migrations(context.pool, SERVICE, "webhook_dispatcher.migrations")


def create_app(settings: WebhookDispatcherSettings | None = None) -> FastAPI:
    settings = settings or WebhookDispatcherSettings()

    async def setup(context: ServiceContext) -> None:
        # Every attempt is logged by the sender, with its outcome; httpx's own line is noise.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        await migrate(context)
        configs = ConfigView(settings.database_url, context.pool, settings.config_refresh_seconds)
        await configs.start()
        context.cleanup.push_async_callback(configs.stop)
        client = webhook_client(
            settings.allow_networks,
            settings.connect_timeout_seconds,
            settings.request_timeout_seconds,
            settings.max_in_flight,
        )
        context.cleanup.push_async_callback(client.aclose)
        sender = WebhookSender(settings, context.pool, configs, client)
        await sender.start()
        context.cleanup.push_async_callback(sender.stop)
        context.extras |= {"configs": configs, "sender": sender}
        handlers.register(context.broker, settings, context.pool, configs)

    return create_service_app(SERVICE, settings, setup)


def main() -> None:
    settings = WebhookDispatcherSettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
