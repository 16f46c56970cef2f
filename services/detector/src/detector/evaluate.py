"""``make eval FILE=…``: detection quality over labelled conversations (JSON lines in the
format of ``shared/datasets/dev.jsonl``, or condition rows in the judge's training format, as in
``data/corpus/near_misses.jsonl``), decided by the detector's own engine.

Prints precision, recall, F1 and the false-escalation rate of the escalate/no-escalate decision,
then, over the conversations rightly escalated, how often the escalation came at the expected
message and agreed on the triggers and the urgency, and the topic/area accuracy.
"""

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from detector.judges import build_judge
from detector.language import LanguageJudge
from detector.replay import Conversation, replay
from detector.settings import DetectorSettings
from escalator_schemas.chat import ChatMessage
from escalator_schemas.config import (
    DEFAULT_KEYWORDS,
    AgentConfigVersion,
    EscalationConfig,
    TriggerCondition,
)
from escalator_schemas.events import EscalationDetected

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    messages: list[ChatMessage]
    config: AgentConfigVersion
    expected: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Verdict:
    case: Case
    detected: EscalationDetected | None
    at_index: int | None
    topic: str
    area: str


def config_of(row: dict[str, Any]) -> EscalationConfig:
    """A labelled row's config: ``keywords`` null means the defaults, [] means none."""
    config = row.get("config", {})
    keywords = config.get("keywords")
    return EscalationConfig(
        enabled=True,
        escalation_threshold=config.get("escalation_threshold"),
        max_ai_turns_before_escalation=config.get("max_ai_turns", 10),
        escalation_keywords=list(DEFAULT_KEYWORDS if keywords is None else keywords),
        trigger_conditions=[TriggerCondition(**c) for c in config.get("conditions", [])],
        idle_timeout_seconds=None,
    )


_ACKNOWLEDGEMENT = "Thanks, let me check that for you."


def _as_conversation(row: dict[str, Any]) -> dict[str, Any]:
    """A condition row (``condition``, ``text``, ``earlier``, ``match``: the format the
    condition judge is trained on) as a labelled conversation: its earlier customer messages,
    each acknowledged by the AI, then its text, with the condition as the agent's one trigger
    (no keywords)."""
    messages: list[dict[str, Any]] = []
    for earlier in row.get("earlier", []):
        messages.append({"role": "customer", "text": earlier})
        messages.append({"role": "ai", "text": _ACKNOWLEDGEMENT, "ai_confidence": 0.95})
    messages.append({"role": "customer", "text": row["text"]})
    expected: dict[str, Any] = {"escalate": bool(row["match"])}
    if row["match"]:
        expected |= {"at_index": len(messages) - 1, "triggers": ["condition"]}
    return {
        "messages": messages,
        "config": {
            "keywords": [],
            "conditions": [{"label": "condition", "description": row["condition"]}],
        },
        "expected": expected,
    }


def load_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        row = json.loads(line)
        if "messages" not in row and "condition" in row:
            row = _as_conversation(row)
        case_id = str(row.get("id", f"case-{number}"))
        config = AgentConfigVersion(
            tenant_id="eval", agent_id=case_id, version=1, config=config_of(row)
        )
        messages = [
            ChatMessage(
                message_id=f"{case_id}/{index}",
                conversation_id=case_id,
                tenant_id="eval",
                agent_id=case_id,
                role=message["role"],
                text=message.get("text", ""),
                sent_at=_EPOCH + timedelta(seconds=30 * index),
                ai_confidence=message.get("ai_confidence"),
                metadata=message.get("metadata", {}),
            )
            for index, message in enumerate(row["messages"])
        ]
        cases.append(Case(case_id, messages, config, row.get("expected", {})))
    return cases


async def decide(
    cases: Sequence[Case], judge: LanguageJudge
) -> tuple[list[Verdict], float, int, int]:
    """Run every case through the engine in one batch; returns verdicts, seconds, messages
    judged, and messages for which the judge consulted its model."""
    done = await replay([Conversation(c.messages, c.config) for c in cases], judge)
    verdicts = []
    for case, replayed in zip(cases, done.conversations, strict=True):
        detected, state = replayed.detected, replayed.state
        verdicts.append(
            Verdict(
                case,
                detected,
                int(detected.trigger_message_id.rsplit("/", 1)[1]) if detected else None,
                state.topic_hint or state.topic or "other",
                state.area_hint or state.area or "other",
            )
        )
    return verdicts, done.seconds, done.judged, done.judged_with_model


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.3f}  ({part}/{whole})" if whole else "n/a"


def report(verdicts: Sequence[Verdict], elapsed: float, judged: int, with_model: int) -> str:
    tp = [v for v in verdicts if v.detected and v.case.expected.get("escalate")]
    fp = [v for v in verdicts if v.detected and not v.case.expected.get("escalate")]
    fn = [v for v in verdicts if not v.detected and v.case.expected.get("escalate")]
    tn = [v for v in verdicts if not v.detected and not v.case.expected.get("escalate")]
    precision = len(tp) / (len(tp) + len(fp)) if tp or fp else 0.0
    recall = len(tp) / (len(tp) + len(fn)) if tp or fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    right_message = [v for v in tp if v.at_index == v.case.expected.get("at_index")]
    same_triggers = [
        v
        for v in tp
        if v.detected
        and {t.kind.value for t in v.detected.triggers} == set(v.case.expected.get("triggers", []))
    ]
    deciding_expected = [
        v
        for v in tp
        if v.detected and v.detected.trigger.kind.value in v.case.expected.get("triggers", [])
    ]
    with_urgency = [v for v in tp if "urgency" in v.case.expected]
    same_urgency = [
        v
        for v in with_urgency
        if v.detected and v.detected.urgency.value == v.case.expected["urgency"]
    ]
    with_topic = [v for v in verdicts if "topic" in v.case.expected]
    messages = sum(len(v.case.messages) for v in verdicts)
    rows = [
        ("conversations", f"{len(verdicts)}  ({len(tp) + len(fn)} should escalate)"),
        ("precision", f"{precision:.3f}"),
        ("recall", f"{recall:.3f}"),
        ("F1", f"{f1:.3f}"),
        ("false-escalation rate", _ratio(len(fp), len(fp) + len(tn))),
        ("at the right message", _ratio(len(right_message), len(tp))),
        ("trigger kinds agree (all)", _ratio(len(same_triggers), len(tp))),
        ("deciding trigger expected", _ratio(len(deciding_expected), len(tp))),
        ("urgency agrees", _ratio(len(same_urgency), len(with_urgency))),
        (
            "topic accuracy",
            _ratio(sum(v.topic == v.case.expected["topic"] for v in with_topic), len(with_topic)),
        ),
        (
            "area accuracy",
            _ratio(sum(v.area == v.case.expected.get("area") for v in with_topic), len(with_topic)),
        ),
        ("messages / judged / model", f"{messages} / {judged} / {with_model}"),
        ("time per message", f"{elapsed / max(messages, 1) * 1e6:,.0f} µs"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def mismatches(verdicts: Sequence[Verdict]) -> str:
    lines = []
    for v in verdicts:
        expected = v.case.expected
        got_kinds = sorted(t.kind.value for t in v.detected.triggers) if v.detected else []
        got = (
            bool(v.detected),
            v.at_index,
            got_kinds,
            v.detected.urgency.value if v.detected else None,
        )
        want = (
            bool(expected.get("escalate")),
            expected.get("at_index"),
            sorted(expected.get("triggers", [])),
            expected.get("urgency"),
        )
        if got != want:
            reason = v.detected.reason if v.detected else ""
            lines.append(f"{v.case.id}: expected {want}, got {got} {reason}")
    return "\n".join(lines)


async def _evaluate(
    cases: Sequence[Case], settings: DetectorSettings
) -> tuple[list[Verdict], float, int, int]:
    async with build_judge(settings) as judge:
        return await decide(cases, judge)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="labelled conversations, JSON lines")
    parser.add_argument(
        "--llm-base-url",
        help="judge trigger conditions with this OpenAI-compatible API (default: embedded model)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)
    cases = load_cases(args.file)
    # No time budget for the model: results must not depend on how busy the machine is.
    settings = DetectorSettings(llm_base_url=args.llm_base_url, judge_model_time_share=None)
    verdicts, elapsed, judged, with_model = asyncio.run(_evaluate(cases, settings))
    sys.stdout.write(report(verdicts, elapsed, judged, with_model) + "\n")
    if args.verbose:
        sys.stdout.write("\n" + mismatches(verdicts) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
