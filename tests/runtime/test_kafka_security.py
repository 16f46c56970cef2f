"""KAFKA_SECURITY_PROTOCOL and friends become the broker's TLS and SASL options."""

import pytest
from faststream.kafka.security import parse_security
from pydantic import SecretStr

from escalator_runtime.kafka import kafka_security
from escalator_runtime.settings import ServiceSettings


def test_plaintext_needs_nothing() -> None:
    assert kafka_security(ServiceSettings(kafka_security_protocol="PLAINTEXT")) is None


def test_sasl_ssl_with_scram() -> None:
    settings = ServiceSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="escalator",
        kafka_sasl_password=SecretStr("s3cret"),
    )
    options = parse_security(kafka_security(settings))
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "escalator"
    assert options["sasl_plain_password"] == "s3cret"
    assert options["ssl_context"] is not None


def test_tls_only() -> None:
    options = parse_security(kafka_security(ServiceSettings(kafka_security_protocol="SSL")))
    assert options["security_protocol"] == "SSL"
    assert options["ssl_context"] is not None


def test_sasl_without_credentials_is_refused() -> None:
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        kafka_security(ServiceSettings(kafka_security_protocol="SASL_PLAINTEXT"))


def test_settings_read_the_unprefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "pw")
    settings = ServiceSettings()
    assert settings.kafka_security_protocol == "SASL_PLAINTEXT"
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == "pw"
