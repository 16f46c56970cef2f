"""Notifier fixtures: a real SMTP server per test, and settings pointing at it."""

import logging
from collections.abc import Iterator

import pytest

from tests.notifier.smtp import SmtpServer

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
