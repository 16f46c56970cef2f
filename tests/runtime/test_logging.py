"""Log lines: chat texts and secrets masked, the escalation's trace id when its batch traced it."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from escalator_runtime import tracing
from escalator_runtime.logging import MASK, configure_logging

log = structlog.get_logger("tests.runtime")


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    logging.getLogger().handlers.clear()


def _configure(stream: io.StringIO, *, message_texts: bool) -> None:
    configure_logging("tests", "INFO", json=True, message_texts=message_texts)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


def _read(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_texts_and_secrets_are_masked_by_default(lines: io.StringIO) -> None:
    _configure(lines, message_texts=False)
    log.info("escalation detected", text="my card 4242 was charged twice", api_key="sk-live-1")
    [line] = _read(lines)
    assert line["text"] == MASK
    assert line["api_key"] == MASK
    assert "4242" not in lines.getvalue()


def test_texts_are_logged_when_allowed_but_secrets_never(lines: io.StringIO) -> None:
    _configure(lines, message_texts=True)
    log.info("escalation detected", text="charged twice", password="hunter2", transcript=None)
    [line] = _read(lines)
    assert line["text"] == "charged twice"
    assert line["password"] == MASK
    assert line["transcript"] is None


def test_a_line_about_a_traced_escalation_carries_its_trace_id(lines: io.StringIO) -> None:
    _configure(lines, message_texts=False)
    span = TracerProvider().get_tracer("tests").start_span("escalate")
    with tracing._registered({"e-1": span}, [span]):
        log.info("escalation routed", escalation_id="e-1")
        log.info("something else")
    traced, untraced = _read(lines)
    assert traced["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert "trace_id" not in untraced
