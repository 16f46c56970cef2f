"""``notifier``: emails the matched supervisors.

Only the service frame (lifespan, health, readiness, metrics) exists so far; its consumers come
with its own issue.
"""

from fastapi import FastAPI

from escalator_runtime.service import ServiceContext, create_service_app, run
from notifier.settings import NotifierSettings


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    settings = settings or NotifierSettings()

    async def setup(_context: ServiceContext) -> None:
        return None

    return create_service_app("notifier", settings, setup)


def main() -> None:
    settings = NotifierSettings()
    run(create_app(settings), settings)


if __name__ == "__main__":
    main()
