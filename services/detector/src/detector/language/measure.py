"""``python -m detector.language.measure FILE``: the language signals alone, on labelled data.

Reads conversations in the format of ``shared/datasets/dev.jsonl`` and scores what the judge
says about customer messages, independently of the detector's other rules:

- at the expected triggering message of escalated conversations: sentiment (anger or urgency),
  condition matches, keyword intent (medium urgency = incidental) and the urgency implied;
- on every customer message of conversations that must not escalate, and on customer messages
  before the expected trigger: any sentiment, condition or legal signal is a false alarm;
- topic and area of the conversation; the share of messages that consulted the model; the
  judge's cost per message.
"""

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detector.keywords import matcher_for
from detector.language import Judgement, Utterance
from detector.language.embedded import EmbeddedJudge
from detector.language.topics import topic_and_area
from escalator_schemas.config import DEFAULT_KEYWORDS, TriggerCondition

_SENTIMENT_URGENCY = {(True, True): "critical", (False, True): "high", (True, False): "medium"}


@dataclass(slots=True)
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, expected: bool, predicted: bool, where: str) -> None:
        if expected and predicted:
            self.tp += 1
        elif expected:
            self.fn += 1
            self.misses.append(f"FN {where}")
        elif predicted:
            self.fp += 1
            self.misses.append(f"FP {where}")
        else:
            self.tn += 1

    def line(self, name: str) -> str:
        precision = self.tp / max(1, self.tp + self.fp)
        recall = self.tp / max(1, self.tp + self.fn)
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        return (
            f"{name:<18} precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  "
            f"(tp {self.tp}, fp {self.fp}, fn {self.fn}, tn {self.tn})"
        )


@dataclass(slots=True)
class Agreement:
    right: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, expected: str, predicted: str, where: str) -> None:
        self.total += 1
        if expected == predicted:
            self.right += 1
        else:
            self.misses.append(f"{where}: expected {expected}, got {predicted}")

    def line(self, name: str) -> str:
        return f"{name:<18} {self.right}/{self.total} = {self.right / max(1, self.total):.3f}"


def _utterances(row: dict[str, Any]) -> list[tuple[int, Utterance]]:
    config = row["config"]
    keywords = tuple(config.get("keywords") or DEFAULT_KEYWORDS)
    conditions = tuple(TriggerCondition(**c) for c in config.get("conditions", []))
    earlier: list[str] = []
    found = []
    for index, message in enumerate(row["messages"]):
        if message["role"] != "customer":
            continue
        text = message["text"]
        found.append(
            (
                index,
                Utterance(
                    text=text,
                    earlier=tuple(earlier[-5:]),
                    conditions=conditions,
                    keywords=tuple(matcher_for(keywords).find(text)),
                ),
            )
        )
        earlier.append(text)
    return found


def _sentiment(judgement: Judgement) -> bool:
    return judgement.anger.present or judgement.urgency.present


def _legal_expected(row: dict[str, Any]) -> bool:
    expected = row["expected"]
    legal_condition = any("legal" in c["label"].casefold() for c in row["config"]["conditions"])
    return bool(
        expected["escalate"]
        and expected["urgency"] == "critical"
        and legal_condition
        and "condition" in expected["triggers"]
    )


@dataclass(slots=True)
class Scores:
    sentiment: Tally = field(default_factory=Tally)
    condition: Tally = field(default_factory=Tally)
    legal: Tally = field(default_factory=Tally)
    alarms: Tally = field(default_factory=Tally)
    intent: Agreement = field(default_factory=Agreement)
    urgency: Agreement = field(default_factory=Agreement)
    topic: Agreement = field(default_factory=Agreement)
    area: Agreement = field(default_factory=Agreement)

    def observe(
        self, row: dict[str, Any], index: int, utterance: Utterance, judgement: Judgement
    ) -> None:
        """Score one customer message of a labelled conversation."""
        expected = row["expected"]
        triggers, at = set(expected["triggers"]), expected["at_index"]
        where = f"{row['id']}#{index} {utterance.text[:70]!r}"
        fired = any(c.matched for c in judgement.conditions)
        if at is None or index < at:
            # Must stay quiet: the conversation does not escalate (yet).
            self.alarms.add(False, _sentiment(judgement) or fired or judgement.legal_threat, where)
        if at is None or index == at:
            self.sentiment.add("sentiment" in triggers, _sentiment(judgement), where)
            if utterance.conditions:
                self.condition.add("condition" in triggers, fired, where)
            self.legal.add(index == at and _legal_expected(row), judgement.legal_threat, where)
        if index != at:
            return
        if utterance.keywords and "keyword" in triggers:
            real = expected["urgency"] in ("high", "critical")
            self.intent.add(str(real), str(judgement.keyword_intent >= 0.5), where)
        if triggers == {"sentiment"}:
            key = (judgement.anger.present, judgement.urgency.present)
            self.urgency.add(expected["urgency"], _SENTIMENT_URGENCY.get(key, "none"), where)
        if triggers == {"condition"}:
            matched = [c.urgency for c in judgement.conditions if c.matched]
            top = max(matched, key=lambda u: u.rank).value if matched else "none"
            self.urgency.add(expected["urgency"], top, f"{where} (condition)")

    def lines(self) -> list[str]:
        return [
            self.sentiment.line("sentiment"),
            self.condition.line("condition"),
            self.legal.line("legal"),
            f"{'false alarms':<18} {self.alarms.fp} of {self.alarms.fp + self.alarms.tn} "
            "quiet customer messages",
            self.intent.line("keyword intent"),
            self.urgency.line("trigger urgency"),
            self.topic.line("topic"),
            self.area.line("area"),
        ]

    def misses(self) -> list[str]:
        found: list[str] = []
        for name in ("sentiment", "condition", "legal", "alarms", "intent", "urgency"):
            found.extend(f"  {name}: {miss}" for miss in getattr(self, name).misses)
        found.extend(f"  topic: {miss}" for miss in self.topic.misses)
        found.extend(f"  area: {miss}" for miss in self.area.misses)
        return found


def measure(rows: Sequence[dict[str, Any]], judge: EmbeddedJudge, batch: int) -> str:
    """The report on ``rows`` (labelled conversations)."""
    work = [(row, index, u) for row in rows for index, u in _utterances(row)]
    started = time.perf_counter()
    judged: list[Judgement] = []
    for start in range(0, len(work), batch):
        judged.extend(judge.judge_sync([u for _, _, u in work[start : start + batch]]))
    elapsed = time.perf_counter() - started

    scores = Scores()
    by_row: dict[str, list[tuple[int, Utterance]]] = {}
    for (row, index, utterance), judgement in zip(work, judged, strict=True):
        scores.observe(row, index, utterance, judgement)
        by_row.setdefault(row["id"], []).append((index, utterance))
    for row in rows:
        seen = by_row.get(row["id"], [])
        if seen:
            at = row["expected"]["at_index"]
            point = next((u for i, u in seen if i == at), seen[-1][1])
            topic, area = topic_and_area((*point.earlier, point.text))
            scores.topic.add(row["expected"]["topic"], topic.value, row["id"])
            scores.area.add(row["expected"]["area"], area.value, row["id"])

    used = sum(j.used_model for j in judged)
    share = used / max(1, len(judged))
    return "\n".join(
        [
            *scores.lines(),
            f"model consulted    {used}/{len(judged)} customer messages = {share:.1%}",
            f"judge cost         {elapsed / max(1, len(judged)) * 1e6:.0f} µs/message, "
            f"{batch}/batch",
            "",
            *scores.misses(),
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--no-model", action="store_true", help="lexical cues only")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.file.read_text().splitlines() if line.strip()]
    judge = EmbeddedJudge(use_model=not args.no_model, model_time_share=None)
    started = time.perf_counter()
    if not args.no_model:
        judge.embedder.load()
    sys.stdout.write(f"model load         {time.perf_counter() - started:.3f} s\n")
    sys.stdout.write(measure(rows, judge, args.batch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
