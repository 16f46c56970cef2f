"""A local SMTP server for ``make run``: every email the notifier sends is written to
``.run/mail/<n>-<subject>.eml`` and logged, so supervisors' notifications can be read without
Mailpit (which docker compose runs). Listens on 127.0.0.1:1025 (MAIL_SINK_PORT)."""

import asyncio
import os
import re
import signal
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from escalator_runtime.logging import configure_logging

MAILBOX = Path(__file__).resolve().parents[2] / ".run" / "mail"
log = structlog.get_logger("mail-sink")


class Mailbox:
    def __init__(self) -> None:
        MAILBOX.mkdir(parents=True, exist_ok=True)
        self.count = len(list(MAILBOX.glob("*.eml")))

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or b""
        subject = str(make_header(decode_header(message_from_bytes(content).get("Subject", ""))))
        self.count += 1
        name = re.sub(r"[^A-Za-z0-9]+", "-", subject)[:60].strip("-") or "email"
        (MAILBOX / f"{self.count:05d}-{name}.eml").write_bytes(content)
        log.info("email received", to=envelope.rcpt_tos, subject=subject)
        return "250 Message accepted for delivery"


async def main() -> None:
    configure_logging("mail-sink")
    controller = Controller(
        Mailbox(), hostname="127.0.0.1", port=int(os.environ.get("MAIL_SINK_PORT") or 1025)
    )
    controller.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("mail sink listening", port=controller.port, mailbox=str(MAILBOX))
    await stop.wait()
    controller.stop()


if __name__ == "__main__":
    asyncio.run(main())
