"""structlog set-up: JSON lines when not on a terminal, readable console output when on one.

Every line carries ``trace_id`` and ``span_id``: those of the escalation it names when the batch
being handled traced it (``tracing.span_for``), else the current span's. Chat message texts are
PII and secrets are secrets: fields that hold them are masked unless texts are allowed
(``LOG_MESSAGE_TEXT``, and even then only texts, never secrets).
"""

import logging
import sys

import structlog
from opentelemetry import trace

from escalator_runtime import tracing

MASK = "[redacted]"
# Field names log calls use for what customers wrote and what supervisors noted.
MESSAGE_TEXT_FIELDS = frozenset(
    {"text", "message_text", "transcript", "resolution_note", "escalation_response", "body"}
)
SECRET_FIELDS = frozenset(
    {"password", "secret", "api_key", "authorization", "access_token", "token", "jwt", "cookie"}
)


def _add_trace_context(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    span = None
    escalation_id = event_dict.get("escalation_id")
    if escalation_id is not None:
        span = tracing.span_for(escalation_id)
    span_context = (span or trace.get_current_span()).get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", format(span_context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    return event_dict


class _Masker:
    """A processor that reads its switch at each line: loggers cache their processor chain on
    first use, and configuring again must still change what is masked."""

    message_texts = False

    def __call__(
        self, _logger: object, _method: str, event_dict: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        masked = SECRET_FIELDS if self.message_texts else SECRET_FIELDS | MESSAGE_TEXT_FIELDS
        for key in masked.intersection(event_dict):
            if event_dict[key] is not None:
                event_dict[key] = MASK
        return event_dict


_mask = _Masker()


def configure_logging(
    service: str, level: str = "INFO", json: bool | None = None, *, message_texts: bool = False
) -> None:
    """Route structlog and the standard library's logging through one JSON renderer."""
    as_json = not sys.stderr.isatty() if json is None else json
    _mask.message_texts = message_texts
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_context,
        _mask,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        # A line below the level is dropped before the processors run.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(service=service)
