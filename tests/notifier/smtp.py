"""A real SMTP server on 127.0.0.1 (aiosmtpd, in its own thread) that captures what it gets,
and can refuse, go away and come back, as mail servers do."""

import email
import email.policy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.stack import free_port


@dataclass(frozen=True)
class Received:
    """One message as the server accepted it (headers read once, in the server's thread)."""

    sender: str
    recipients: list[str]
    raw: bytes
    message: EmailMessage
    at: float = field(default_factory=time.monotonic)
    tls: bool = False
    login: str | None = None
    escalation_id: str = ""
    kind: str = ""
    message_id: str = ""
    to: str = ""
    subject: str = ""

    @classmethod
    def parse(cls, server: SMTP, session: Session, envelope: Envelope) -> "Received":
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data if session.authenticated else None
        transport = server.transport
        # session.ssl is set by STARTTLS; the transport's ssl_object by implicit TLS.
        tls = session.ssl is not None or bool(
            transport is not None and transport.get_extra_info("ssl_object")
        )
        return cls(
            sender=str(envelope.mail_from),
            recipients=[str(address) for address in envelope.rcpt_tos],
            raw=raw,
            message=message,
            tls=tls,
            login=login.decode() if isinstance(login, bytes) else None,
            escalation_id=str(message["X-Escalator-Escalation-Id"]),
            kind=str(message["X-Escalator-Kind"]),
            message_id=str(message["Message-ID"]),
            to=str(message["To"]),
            subject=str(message["Subject"]),
        )

    def part(self, subtype: str) -> str:
        body = self.message.get_body((subtype,))
        assert body is not None, f"no text/{subtype} part"
        content = body.get_content()
        assert isinstance(content, str)
        return content.replace("\r\n", "\n")


class CapturingHandler:
    """aiosmtpd handler. ``data_replies`` are answered to DATA (of messages to a recipient
    containing ``refuse_only``) before accepting again;
    ``refused`` maps a recipient to its RCPT reply; ``on_accept`` runs once a message is
    kept, before the 250 goes out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self.data_replies: list[str] = []
        self.refuse_only = ""  # the replies above go to messages for recipients with this
        self.refused: dict[str, str] = {}
        self.on_accept: Callable[[Received], None] | None = None
        self.refusals = 0

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def for_escalation(
        self, escalation_id: object, kind: str | None = "escalation"
    ) -> list[Received]:
        """What arrived about one escalation: its first emails, by default. (Services of other
        test runs on the shared broker may breach its SLA and cause reminders.)"""
        return [
            message
            for message in self.received
            if message.escalation_id == str(escalation_id) and kind in (None, message.kind)
        ]

    async def handle_RCPT(  # noqa: N802 - aiosmtpd calls it by this name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd calls it by this name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self._lock:
            if self.data_replies and any(self.refuse_only in r for r in envelope.rcpt_tos):
                self.refusals += 1
                return self.data_replies.pop(0)
        received = Received.parse(server, session, envelope)
        with self._lock:
            self._received.append(received)
        if self.on_accept is not None:
            self.on_accept(received)
        return "250 2.0.0 Message accepted"


class SmtpServer:
    """``options`` go to aiosmtpd's ``Controller`` (TLS contexts, authenticator, …)."""

    def __init__(self, port: int | None = None, **options: Any) -> None:
        self.port = port or free_port()
        self.handler = CapturingHandler()
        self._options = options
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **self._options
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
