"""Notifier settings: environment variables, secrets, and combinations that cannot work."""

import pytest
from pydantic import ValidationError

from notifier.settings import NotifierSettings


def test_read_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("NOTIFIER_SMTP_PORT", "587")
    monkeypatch.setenv("NOTIFIER_SMTP_SECURITY", "starttls")
    monkeypatch.setenv("NOTIFIER_SMTP_USERNAME", "escalator")
    monkeypatch.setenv("NOTIFIER_SMTP_PASSWORD", "a-real-secret")
    monkeypatch.setenv("NOTIFIER_PUBLIC_URL", "https://support.example.com")
    settings = NotifierSettings()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == (
        "smtp.example.com",
        587,
        "starttls",
    )
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "a-real-secret"
    assert "a-real-secret" not in repr(settings)
    assert settings.public_url == "https://support.example.com"
    assert settings.sender.domain == "escalator.localhost"


@pytest.mark.parametrize(
    "values",
    [
        {"smtp_security": "ssl"},
        {"smtp_username": "only-a-user"},
        {"smtp_username": "u", "smtp_password": "changethis"},
        {"sender_address": "not an address"},
        {"public_url": "ftp://example.com"},
        {"lease_seconds": 30, "smtp_timeout_seconds": 20},
        {"retry_base_seconds": 10, "retry_max_seconds": 5},
    ],
)
def test_refuses_what_cannot_work(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        NotifierSettings(**values)  # type: ignore[arg-type]
