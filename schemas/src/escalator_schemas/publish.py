"""Generates the published JSON Schema files and the AsyncAPI document from the models.

``python -m escalator_schemas.publish`` rewrites them; ``--check`` fails when they drift.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from escalator_schemas import topics
from escalator_schemas.chat import ChatMessage
from escalator_schemas.config import EscalationConfig
from escalator_schemas.events import (
    EscalationClaimed,
    EscalationCompleted,
    EscalationDetected,
    EscalationReassignedToAI,
    EscalationReleased,
    EscalationRouted,
    EscalationSlaBreached,
    HandoffCommand,
)

SCHEMAS_DIR = Path(__file__).resolve().parents[2]

MESSAGES: dict[str, type[BaseModel]] = {
    "ChatMessage": ChatMessage,
    "HandoffCommand": HandoffCommand,
    "EscalationDetected": EscalationDetected,
    "EscalationRouted": EscalationRouted,
    "EscalationClaimed": EscalationClaimed,
    "EscalationReleased": EscalationReleased,
    "EscalationCompleted": EscalationCompleted,
    "EscalationReassignedToAI": EscalationReassignedToAI,
    "EscalationSlaBreached": EscalationSlaBreached,
    "EscalationConfig": EscalationConfig,
}

CHANNELS: dict[str, tuple[str, list[str], str]] = {
    topics.CHAT_MESSAGES: ("chat backends", ["ChatMessage"], "Every chat message, as it is sent."),
    topics.CHAT_HANDOFFS: (
        "detector, queue-api",
        ["HandoffCommand"],
        "Pause the AI and hand over to a human, or let the AI answer again.",
    ),
    topics.ESCALATIONS_DETECTED: (
        "detector",
        ["EscalationDetected"],
        "A conversation needs a human.",
    ),
    topics.ESCALATIONS_ROUTED: (
        "router",
        ["EscalationRouted"],
        "An escalation with the supervisors it goes to.",
    ),
    topics.ESCALATIONS_LIFECYCLE: (
        "queue-api",
        [
            "EscalationClaimed",
            "EscalationReleased",
            "EscalationCompleted",
            "EscalationReassignedToAI",
            "EscalationSlaBreached",
        ],
        "What supervisors do with an escalation, and SLA breaches.",
    ),
}


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def json_schema_files() -> dict[str, str]:
    """One standalone JSON Schema per message, by file name."""
    return {
        f"jsonschema/{name}.json": _dump(
            {"$schema": "https://json-schema.org/draft/2020-12/schema", **model.model_json_schema()}
        )
        for name, model in MESSAGES.items()
    }


def asyncapi_document() -> dict[str, Any]:
    """An AsyncAPI 3.0 document of the contract topics and their messages."""
    _, definitions = models_json_schema(
        [(model, "validation") for model in MESSAGES.values()],
        ref_template="#/components/schemas/{model}",
    )
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic, (producer, names, description) in CHANNELS.items():
        channel_id = topic.replace(".", "_")
        channels[channel_id] = {
            "address": topic,
            "description": f"{description} Produced by {producer}. Key: conversation_id. "
            f"Poison records go to {topics.dlq(topic)}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
        }
        for name in names:
            messages[name] = {
                "name": name,
                "contentType": "application/json",
                "payload": {"$ref": f"#/components/schemas/{name}"},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Escalator",
            "version": "1.0.0",
            "description": "Escalator's public Kafka contract (v1).",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": definitions.get("$defs", {})},
    }


def generated_files() -> dict[str, str]:
    return {**json_schema_files(), "asyncapi.json": _dump(asyncapi_document())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the files drift")
    parser.add_argument("--out", type=Path, default=SCHEMAS_DIR)
    args = parser.parse_args(argv)
    drifted = []
    for relative, text in generated_files().items():
        path: Path = args.out / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        drifted.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check and drifted:
        sys.stderr.write("out of date: " + ", ".join(drifted) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
