"""Conversations uploaded for a backtest, as JSON lines.

A line is either one conversation in the format of the labelled datasets (``{"id", "messages":
[{"role", "text", "ai_confidence", ...}], "flag"}``; ``config`` and ``expected`` are ignored,
missing message ids and times are filled in) or one ``ChatMessage`` (grouped into
conversations by ``conversation_id``, in file order). Tenant, agent and environment are always
the caller's: an upload cannot speak for another agent.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from escalator_schemas.chat import ChatMessage, Environment

MAX_CONVERSATIONS = 20_000
MAX_MESSAGES_PER_CONVERSATION = 1_000
MAX_ERRORS = 20
FLAGS = (None, "false_escalation", "missed")
# Dataset lines carry no times: a message every 30 s from a fixed start keeps them in order.
_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Upload:
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, line: int, where: tuple[str | int, ...], msg: str, kind: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            loc = ["body", "conversations_jsonl", str(line), *(str(part) for part in where)]
            self.errors.append({"loc": loc, "field": ".".join(loc[1:]), "msg": msg, "type": kind})


def _message(
    document: dict[str, Any], defaults: dict[str, Any], identity: dict[str, Any]
) -> ChatMessage:
    return ChatMessage.model_validate(defaults | document | identity)


def _validation(
    upload: Upload, line: int, prefix: tuple[str | int, ...], error: ValidationError
) -> None:
    for detail in error.errors(include_url=False, include_input=False)[:5]:
        upload.error(line, (*prefix, *detail["loc"]), detail["msg"], detail["type"])


def _conversation_line(
    upload: Upload, line: int, row: dict[str, Any], identity: dict[str, Any]
) -> None:
    conversation_id = str(row.get("conversation_id") or row.get("id") or f"line-{line}")
    if conversation_id in upload.conversations:
        upload.error(line, ("id",), f"conversation {conversation_id} appears twice", "duplicate")
        return
    flag = row.get("flag")
    if flag not in FLAGS:
        upload.error(line, ("flag",), "must be false_escalation, missed or null", "enum")
        return
    raw = row["messages"]
    if not isinstance(raw, list) or not raw or len(raw) > MAX_MESSAGES_PER_CONVERSATION:
        upload.error(
            line,
            ("messages",),
            f"must be a list of 1 to {MAX_MESSAGES_PER_CONVERSATION} messages",
            "list_length",
        )
        return
    messages = []
    for index, document in enumerate(raw):
        if not isinstance(document, dict):
            upload.error(line, ("messages", index), "must be an object", "dict_type")
            return
        defaults = {
            "message_id": f"{conversation_id}/{index}",
            "sent_at": (_START + timedelta(seconds=30 * index)).isoformat(),
        }
        try:
            message = _message(document, defaults, identity | {"conversation_id": conversation_id})
        except ValidationError as error:
            _validation(upload, line, ("messages", index), error)
            return
        messages.append(message.model_dump(mode="json"))
    upload.conversations[conversation_id] = {
        "conversation_id": conversation_id,
        "messages": messages,
        "flag": flag,
    }


def _message_line(upload: Upload, line: int, row: dict[str, Any], identity: dict[str, Any]) -> None:
    try:
        message = _message(row, {}, identity)
    except ValidationError as error:
        _validation(upload, line, (), error)
        return
    conversation = upload.conversations.setdefault(
        message.conversation_id,
        {"conversation_id": message.conversation_id, "messages": [], "flag": None},
    )
    if len(conversation["messages"]) >= MAX_MESSAGES_PER_CONVERSATION:
        upload.error(line, (), "too many messages in this conversation", "list_length")
        return
    conversation["messages"].append(message.model_dump(mode="json"))


def parse_upload(
    text: str, tenant_id: str, agent_id: str, environment: Environment
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(conversations for the detector, field errors)`` of an uploaded JSON-lines file."""
    upload = Upload()
    identity = {"tenant_id": tenant_id, "agent_id": agent_id, "environment": environment.value}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        if not raw_line.strip():
            continue
        try:
            row = json.loads(raw_line)
        except ValueError as error:
            upload.error(number, (), f"not JSON: {error}", "json_invalid")
            continue
        if not isinstance(row, dict):
            upload.error(number, (), "must be a JSON object", "dict_type")
        elif "messages" in row:
            _conversation_line(upload, number, row, identity)
        else:
            _message_line(upload, number, row, identity)
        if len(upload.conversations) > MAX_CONVERSATIONS:
            upload.error(number, (), f"at most {MAX_CONVERSATIONS} conversations", "too_long")
            break
    if not upload.conversations and not upload.errors:
        upload.error(1, (), "the file holds no conversation", "missing")
    return list(upload.conversations.values()), upload.errors
