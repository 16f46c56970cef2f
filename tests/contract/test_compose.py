"""deploy/docker-compose.yml and deploy/Dockerfile, read as files: no Docker engine runs here, so
the structure platform teams rely on is checked instead (services, health, start order, the
settings each service reads, replicas that can scale, the observability profile)."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from detector.settings import DetectorSettings
from notifier.settings import NotifierSettings
from queue_api.settings import QueueApiSettings
from router.settings import RouterSettings
from webhook_dispatcher.settings import WebhookDispatcherSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES: dict[str, tuple[type[BaseSettings], str, int]] = {
    # compose service: settings class, console script, port
    "queue-api": (QueueApiSettings, "escalator-queue-api", 8000),
    "detector": (DetectorSettings, "escalator-detector", 8001),
    "router": (RouterSettings, "escalator-router", 8002),
    "notifier": (NotifierSettings, "escalator-notifier", 8003),
    "webhook-dispatcher": (WebhookDispatcherSettings, "escalator-webhook-dispatcher", 8004),
}
SCALED = ("detector", "router", "notifier", "webhook-dispatcher")
INFRASTRUCTURE = ("kafka", "kafka-init", "postgres", "mailpit")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def variables(settings: type[BaseSettings]) -> set[str]:
    """Every environment variable the settings class reads."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.add(str(alias.choices[0]))
        else:
            names.add((prefix + name).upper())
    return names


def test_every_service_and_its_infrastructure_is_there(compose: dict[str, Any]) -> None:
    assert set(SERVICES) | set(INFRASTRUCTURE) <= set(services(compose))
    for name, (_settings, script, _port) in SERVICES.items():
        assert services(compose)[name]["command"] == [script]


@pytest.mark.parametrize("name", [*SERVICES, "kafka", "postgres"])
def test_long_running_services_have_a_healthcheck(compose: dict[str, Any], name: str) -> None:
    check = services(compose)[name]["healthcheck"]
    assert not check.get("disable")
    assert check["test"][0] in {"CMD", "CMD-SHELL"}
    if name in SERVICES:
        assert "/readyz" in " ".join(check["test"])


@pytest.mark.parametrize("name", SERVICES)
def test_services_start_after_topics_exist_and_postgres_is_healthy(
    compose: dict[str, Any], name: str
) -> None:
    depends = services(compose)[name]["depends_on"]
    assert depends["kafka-init"]["condition"] == "service_completed_successfully"
    assert depends["postgres"]["condition"] == "service_healthy"
    init = services(compose)["kafka-init"]
    assert init["command"] == ["python", "-m", "escalator_runtime.topics"]
    assert init["restart"] == "no"
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", SERVICES)
def test_environment_is_what_the_settings_read(compose: dict[str, Any], name: str) -> None:
    settings, _script, port = SERVICES[name]
    environment = {key: str(value) for key, value in services(compose)[name]["environment"].items()}
    prefix = str(settings.model_config.get("env_prefix", ""))
    known = variables(settings) | {"PORT"}
    # A misspelt variable is silently ignored by the service: none may be unknown.
    unknown = {key for key in environment if not key.startswith("OTEL_") and key not in known}
    assert not unknown, f"{name} sets variables it does not read: {unknown}"
    required = {
        (prefix + field).upper()
        for field, info in settings.model_fields.items()
        if info.is_required()
    }
    assert required <= set(environment)
    assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    # Reachable from other containers, on the port the healthcheck asks.
    assert environment[f"{prefix}HOST"] == "0.0.0.0"  # noqa: S104 - inside a container
    assert environment[f"{prefix}PORT"] == environment["PORT"] == str(port)
    assert environment["OTEL_SERVICE_NAME"] == name
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("${OTEL_EXPORTER_OTLP_ENDPOINT")


def test_the_notifier_sends_to_mailpit(compose: dict[str, Any]) -> None:
    notifier = services(compose)["notifier"]
    assert notifier["environment"]["NOTIFIER_SMTP_HOST"] == "mailpit"
    assert "mailpit" in notifier["depends_on"]


@pytest.mark.parametrize("name", SCALED)
def test_scaled_services_can_run_several_replicas(compose: dict[str, Any], name: str) -> None:
    service = services(compose)[name]
    assert "container_name" not in service
    assert "ports" not in service  # a fixed host port would clash between replicas
    assert re.fullmatch(r"\$\{[A-Z_]+_REPLICAS:-1\}", str(service["deploy"]["replicas"]))
    # Each replica consumes in the service's group; the topics have room for 6 of them.
    assert "KAFKA_GROUP_SUFFIX" not in service["environment"]
    kafka = services(compose)["kafka"]["environment"]
    assert int(kafka["KAFKA_NUM_PARTITIONS"]) >= 6
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_the_observability_profile_runs_a_collector_and_jaeger(compose: dict[str, Any]) -> None:
    collector = services(compose)["otel-collector"]
    jaeger = services(compose)["jaeger"]
    assert collector["profiles"] == jaeger["profiles"] == ["observability"]
    assert collector["image"].startswith("otel/opentelemetry-collector-contrib:")
    assert jaeger["image"].startswith("jaegertracing/jaeger:")
    mounted = {volume.split(":")[0] for volume in collector["volumes"]}
    assert "./otel-collector.yaml" in mounted
    config = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text(encoding="utf-8"))
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    exporter = config["exporters"][pipeline["exporters"][0]]
    assert exporter["endpoint"] == "jaeger:4317"
    # Nothing else belongs to a profile: a plain `up` starts the whole product.
    in_profiles = {name for name, service in services(compose).items() if "profiles" in service}
    assert in_profiles == {"otel-collector", "jaeger"}


def test_dockerfile_caches_dependencies_and_runs_as_a_user() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    stages = [index for index, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage: build, then a slim runtime"
    build = lines[stages[0] : stages[1]]
    dependencies = next(i for i, line in enumerate(build) if "--no-install-workspace" in line)
    sources = next(i for i, line in enumerate(build) if line.startswith("COPY services "))
    lock = next(i for i, line in enumerate(build) if line.startswith("COPY") and "uv.lock" in line)
    assert lock < dependencies < sources
    runtime = lines[stages[-1] :]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users
    assert users[-1] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK") for line in runtime)
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "!services/" in ignored  # the context is the repository, minus .venv, .git, ...
