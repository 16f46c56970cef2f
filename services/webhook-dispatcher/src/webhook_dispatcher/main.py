"""``webhook-dispatcher``: delivers signed escalation events to integrators.

Only the service frame (lifespan, health, readiness, metrics) exists so far; its consumers come
with its own issue.
"""

from fastapi import FastAPI

from escalator_runtime.service import ServiceContext, create_service_app, run
from webhook_dispatcher.settings import WebhookDispatcherSettings


def create_app(settings: WebhookDispatcherSettings | None = None) -> FastAPI:
    settings = settings or WebhookDispatcherSettings()

    async def setup(_context: ServiceContext) -> None:
        return None

    return create_service_app("webhook-dispatcher", settings, setup)


def main() -> None:
    settings = WebhookDispatcherSettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
