"""Every setting of every service is documented in .env.example (platform teams configure the
stack from it)."""

from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from detector.settings import DetectorSettings
from notifier.settings import NotifierSettings
from queue_api.settings import QueueApiSettings
from router.settings import RouterSettings
from webhook_dispatcher.settings import WebhookDispatcherSettings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
SETTINGS: tuple[type[BaseSettings], ...] = (
    QueueApiSettings,
    DetectorSettings,
    RouterSettings,
    NotifierSettings,
    WebhookDispatcherSettings,
)
# Shared by all services, documented once under their unprefixed names.
SHARED = {"kafka_group_suffix"}


def variables(settings: type[BaseSettings]) -> list[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    names = []
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.append(str(alias.choices[0]))
        elif name not in SHARED:
            names.append((prefix + name).upper())
    return names


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__name__)
def test_every_setting_is_documented(settings: type[BaseSettings]) -> None:
    documented = ENV_EXAMPLE.read_text(encoding="utf-8")
    missing = [name for name in variables(settings) if f"{name}=" not in documented]
    assert not missing, f"add to .env.example: {', '.join(missing)}"
