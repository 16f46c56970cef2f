"""``queue-api``: the supervisors' queue (REST + WebSocket) and the escalation settings."""

import httpx
from fastapi import FastAPI

from escalator_runtime import config_store
from escalator_runtime.db import apply_migrations
from escalator_runtime.service import ServiceContext, create_service_app, run
from queue_api import (
    api,
    backtest_api,
    config_api,
    conversations,
    errors,
    handlers,
    openapi,
    preview_api,
    problems,
    stream,
    tuning,
    web_app,
    webhooks_api,
)
from queue_api.auth import TokenVerifier
from queue_api.hub import StreamHub
from queue_api.outbox import OutboxRelay, kafka_publisher
from queue_api.settings import QueueApiSettings
from queue_api.sla import SlaSweeper
from queue_api.summary import LlmEndpoint

DESCRIPTION = """The supervisors' realtime escalation queue and the escalation settings.

Errors are RFC 9457 `application/problem+json`. Realtime updates: a WebSocket at
`/api/v1/stream?access_token=<JWT>[&since=<seq>]` pushes `{"seq", "type", "action",
"escalation"}` for every new (`escalation.created`) and changed (`escalation.updated`)
escalation the caller may see, numbered per tenant; `{"type": "heartbeat", "seq"}` every few
seconds; reconnect with `since` = the last `seq` received to get what was missed. See the
`StreamPush` schema."""


def create_app(settings: QueueApiSettings | None = None) -> FastAPI:
    settings = settings or QueueApiSettings()
    app = FastAPI(title="Escalator queue API", version="1.0.0", description=DESCRIPTION)

    async def setup(context: ServiceContext) -> None:
        await config_store.migrate(context.pool)
        await apply_migrations(context.pool, "queue-api", "queue_api.migrations")
        handlers.register(context.broker, context, settings.sla_seconds_override)
        # Issue 6: the preview chat's chat.handoffs consumer (preview conversations only).
        preview_api.register(context, settings.preview_handoff_retention_days)
        # Issue 11: every conversation, kept for backtests and the tuning report.
        await conversations.register(
            context, settings.conversation_retention_days, settings.conversation_batch_wait_ms
        )
        cleanup = context.cleanup

        if settings.summary_llm_base_url:
            app.state.http_client = await cleanup.enter_async_context(httpx.AsyncClient())

        hub = StreamHub(
            context.pool,
            settings.database_url,
            poll_seconds=settings.stream_poll_seconds,
            queue_size=settings.stream_queue_size,
            retention_hours=settings.stream_retention_hours,
        )
        await hub.start()
        cleanup.push_async_callback(hub.stop)
        app.state.stream_hub = hub
        context.extras["stream_hub"] = hub  # committed changes go to it in-process

        # The relay publishes through the broker: connect its producer before relaying.
        await context.broker.connect()
        relay = OutboxRelay(
            context.pool,
            settings.database_url,
            kafka_publisher(context.broker),
            poll_seconds=settings.outbox_poll_seconds,
            batch_size=settings.outbox_batch_size,
        )
        await relay.start()
        cleanup.push_async_callback(relay.stop)
        app.state.outbox_relay = relay

        sweeper = SlaSweeper(context.pool, settings.sla_sweep_interval_seconds)
        await sweeper.start()
        cleanup.push_async_callback(sweeper.stop)

    app.state.token_verifier = TokenVerifier(settings)
    app.state.stream_heartbeat_seconds = settings.stream_heartbeat_seconds
    app.state.http_client = None
    app.state.summary_llm = (
        LlmEndpoint(
            base_url=settings.summary_llm_base_url,
            model=settings.summary_llm_model,
            api_key=settings.summary_llm_api_key,
            timeout_seconds=settings.summary_llm_timeout_seconds,
        )
        if settings.summary_llm_base_url
        else None
    )
    problems.install(app)
    stream.redact_tokens_in_logs()
    errors.install_server_error_handler(app)
    app.add_middleware(errors.BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(api.router)
    app.include_router(stream.router)
    app.include_router(config_api.router)
    app.include_router(webhooks_api.router)
    # Issue 6: the workspace in the browser (pages, /ui assets, sign-in) and the preview chat.
    app.include_router(preview_api.router)
    web_app.install(app, settings)
    backtest_api.install(app, settings)  # issue 11: backtests of the draft
    tuning.install(app, settings)  # issue 9: the tuning report's API
    openapi.complete_openapi(app)
    return create_service_app("queue-api", settings, setup, app=app)


def main() -> None:
    settings = QueueApiSettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
