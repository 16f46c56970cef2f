"""STARTTLS, implicit TLS and SMTP AUTH against a real server on 127.0.0.1 with a certificate
from a test CA; a refused login is retried (the operator fixes it), never given up at once."""

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from escalator_schemas.config import Supervisor
from notifier.main import create_app
from tests.notifier.events import routed_event, supervisor
from tests.notifier.pipeline import notifier_settings, outbox, publish_routed, settled
from tests.notifier.smtp import Received, SmtpServer
from tests.stack import demo_config, eventually, producer, publish_config, running

pytestmark = pytest.mark.integration

LOGIN, PASSWORD = "notifier", "s3cret-for-tests"


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def ca_file(authority: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


def authenticate(
    _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        LOGIN.encode(),
        PASSWORD.encode(),
    )
    # handled=False: aiosmtpd answers 535 itself when the login fails.
    return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


def running_server(**options: Any) -> Iterator[SmtpServer]:
    server = SmtpServer(**options)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def starttls_server(server_tls: ssl.SSLContext) -> Iterator[SmtpServer]:
    yield from running_server(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )


@pytest.fixture
def implicit_tls_server(server_tls: ssl.SSLContext) -> Iterator[SmtpServer]:
    # aiosmtpd counts only STARTTLS as TLS for AUTH; this session is TLS from its first byte.
    yield from running_server(
        ssl_context=server_tls,
        authenticator=authenticate,
        auth_require_tls=False,
    )


async def _deliver_one(
    kafka: str, database: str, unique: str, server: SmtpServer, **smtp: Any
) -> tuple[list[Received], list[dict[str, Any]]]:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    alice = Supervisor(id="alice", name="Alice", email=f"alice-{unique}@example.com")
    await publish_config(database, tenant, agent, demo_config(supervisors=[alice]))
    routed = routed_event(
        tenant, f"c-{unique}", [supervisor("alice", "Alice", alice.email)], agent_id=agent
    )
    settings = notifier_settings(kafka, database, server.port, **smtp)

    async def arrived() -> list[Received] | None:
        return server.handler.for_escalation(routed.escalation_id) or None

    async with running(create_app(settings)), producer(kafka) as send:
        await publish_routed(send, routed)
        received = await eventually(arrived, within=30)
        rows = await settled(database, routed.escalation_id, 1)
    return received, rows


async def test_starttls_and_login(
    kafka: str, database: str, unique: str, starttls_server: SmtpServer, ca_file: str
) -> None:
    [message], [row] = await _deliver_one(
        kafka,
        database,
        unique,
        starttls_server,
        smtp_security="starttls",
        smtp_ca_file=ca_file,
        smtp_username=LOGIN,
        smtp_password=PASSWORD,
    )
    assert message.tls
    assert message.login == LOGIN
    assert row["status"] == "sent"


async def test_implicit_tls_and_login(
    kafka: str, database: str, unique: str, implicit_tls_server: SmtpServer, ca_file: str
) -> None:
    [message], [row] = await _deliver_one(
        kafka,
        database,
        unique,
        implicit_tls_server,
        smtp_security="tls",
        smtp_ca_file=ca_file,
        smtp_username=LOGIN,
        smtp_password=PASSWORD,
    )
    assert message.tls
    assert message.login == LOGIN
    assert row["status"] == "sent"


async def test_refused_login_is_retried_not_given_up(
    kafka: str, database: str, unique: str, starttls_server: SmtpServer, ca_file: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    alice = Supervisor(id="alice", name="Alice", email=f"alice-{unique}@example.com")
    await publish_config(database, tenant, agent, demo_config(supervisors=[alice]))
    routed = routed_event(
        tenant, f"c-{unique}", [supervisor("alice", "Alice", alice.email)], agent_id=agent
    )
    settings = notifier_settings(
        kafka,
        database,
        starttls_server.port,
        smtp_security="starttls",
        smtp_ca_file=ca_file,
        smtp_username=LOGIN,
        smtp_password="wrong",
    )

    async def retried_twice() -> dict[str, Any] | None:
        rows = await outbox(database, routed.escalation_id)
        return rows[0] if rows and rows[0]["attempts"] >= 2 else None

    async with running(create_app(settings)), producer(kafka) as send:
        await publish_routed(send, routed)
        row = await eventually(retried_twice, within=30)
    assert row["status"] == "pending"
    assert row["last_error"].startswith("connect: SMTPAuthenticationError")
    assert starttls_server.handler.for_escalation(routed.escalation_id) == []
    # The password never reaches a log line or the outbox.
    assert "wrong" not in repr(settings)
