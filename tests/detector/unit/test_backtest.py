"""Backtests: conversations with known outcomes replayed under a draft and a baseline by the
detector's own engine; the report's counts are exact."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from detector.backtest.judge import RememberedEmbeddings, RememberingJudge
from detector.backtest.run import run_backtest
from detector.language import NO_SIGNAL, Judgement, Signal, Utterance
from detector.language.embedded import EmbeddedJudge
from detector.language.model import EMBEDDING_DIM, Embedder
from escalator_schemas.backtest import BacktestConversation, BacktestRequest
from escalator_schemas.chat import ChatMessage
from escalator_schemas.config import EscalationConfig
from tests import backtest_samples as samples

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class ScriptedJudge:
    """Anger from an ``[angry]`` marker; every keyword meant. Counts the questions."""

    def __init__(self) -> None:
        self.asked = 0

    async def judge(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        self.asked += len(utterances)
        return [
            Judgement(
                anger=Signal(0.9, "angry words") if "[angry]" in u.text else Signal(0.2),
                urgency=NO_SIGNAL,
            )
            for u in utterances
        ]


def conversation(
    name: str, turns: Sequence[tuple[str, float | None]], flag: str | None = None
) -> BacktestConversation:
    """``turns``: (text, None) for a customer message, (text, confidence) for the AI's."""
    messages = [
        ChatMessage(
            message_id=f"{name}-{index}",
            conversation_id=name,
            tenant_id="t",
            agent_id="a",
            role="customer" if confidence is None else "ai",
            text=text,
            sent_at=START + timedelta(seconds=20 * index),
            ai_confidence=confidence,
        )
        for index, (text, confidence) in enumerate(turns)
    ]
    return BacktestConversation.model_validate(
        {"conversation_id": name, "messages": messages, "flag": flag}
    )


def policy(**changes: object) -> EscalationConfig:
    values: dict[str, object] = {"enabled": True, "escalation_threshold": 0.5}
    return EscalationConfig.model_validate(values | changes)


KEYWORD = conversation("keyword", samples.KEYWORD)
UNSURE = conversation("unsure", samples.UNSURE, flag="false_escalation")
LONG = conversation("long", samples.LONG, flag="missed")
ANGRY = conversation("angry", [("This is useless [angry]", None), ("Sorry!", 0.9)])
CALM = conversation("calm", samples.CALM, "missed")
ALL = [KEYWORD, UNSURE, LONG, ANGRY, CALM]


async def test_draft_against_baseline_counts_are_exact() -> None:
    judge = ScriptedJudge()
    request = BacktestRequest(
        configs={
            "published": policy(),
            "draft": policy(escalation_threshold=0.6, max_ai_turns_before_escalation=3),
        },
        baseline="published",
        conversations=ALL,
    )

    answer = await run_backtest(request, judge)

    outcomes = {r.conversation_id: r.outcomes for r in answer.results}
    assert [r.conversation_id for r in answer.results] == [
        "keyword",
        "unsure",
        "long",
        "angry",
        "calm",
    ]
    assert outcomes["keyword"]["draft"].model_dump() == {
        "escalated": True,
        "trigger_message_id": "keyword-1",
        "trigger": "keyword",
        "triggers": ["keyword"],
        "urgency": "high",
    }
    assert outcomes["unsure"]["published"].escalated is False
    assert outcomes["unsure"]["draft"].trigger == "confidence"
    assert outcomes["unsure"]["draft"].urgency == "medium"
    assert outcomes["long"]["published"].escalated is False
    assert outcomes["long"]["draft"].trigger == "turn_limit"
    assert outcomes["long"]["draft"].trigger_message_id == "long-5"
    assert outcomes["long"]["draft"].urgency == "low"
    assert outcomes["angry"]["published"].trigger == "sentiment"
    assert {r.conversation_id: r.peak_frustration for r in answer.results} == {
        "keyword": 0.2,
        "unsure": 0.2,
        "long": 0.2,
        "angry": 0.9,
        "calm": 0.2,
    }

    report = answer.report
    assert (report.conversations, report.messages) == (5, 14)
    assert report.configs["published"].model_dump() == {
        "escalated": 2,
        "escalation_rate": 0.4,
        "by_trigger": {"keyword": 1, "sentiment": 1},
        "by_urgency": {"high": 1, "medium": 1},
    }
    draft = report.configs["draft"]
    assert draft.escalated == 4
    assert draft.escalation_rate == 0.8
    assert draft.by_trigger == {"keyword": 1, "confidence": 1, "turn_limit": 1, "sentiment": 1}
    assert draft.by_urgency == {"high": 1, "medium": 2, "low": 1}
    assert report.changes["draft"].model_dump() == {
        "newly_escalating": ["unsure", "long"],
        "no_longer_escalating": [],
    }
    assert list(report.changes) == ["draft"]
    assert report.flagged["draft"].model_dump() == {
        "false_escalations": 1,
        "no_longer_escalated": [],
        "still_escalated": ["unsure"],
        "missed": 2,
        "now_caught": ["long"],
        "still_missed": ["calm"],
    }
    assert report.flagged["published"].no_longer_escalated == ["unsure"]
    assert report.flagged["published"].still_missed == ["long", "calm"]
    # The customer messages of both replays: 8 each.
    assert (report.judged, judge.asked) == (16, 16)


async def test_a_stricter_draft_no_longer_escalates_what_the_baseline_did() -> None:
    request = BacktestRequest(
        configs={"now": policy(escalation_threshold=0.6), "draft": policy(escalation_keywords=[])},
        baseline="now",
        conversations=[KEYWORD, UNSURE, CALM],
    )

    report = (await run_backtest(request, ScriptedJudge())).report

    assert report.changes["draft"].no_longer_escalating == ["keyword", "unsure"]
    assert report.changes["draft"].newly_escalating == []
    assert report.configs["draft"].escalated == 0
    assert report.flagged["draft"].no_longer_escalated == ["unsure"]


async def test_without_baseline_there_are_no_changes() -> None:
    request = BacktestRequest(configs={"only": policy()}, conversations=[KEYWORD])

    report = (await run_backtest(request, ScriptedJudge())).report

    assert report.baseline is None
    assert report.changes == {}
    assert report.configs["only"].escalated == 1


async def test_the_real_judge_answers_repeated_questions_from_memory() -> None:
    """The embedded judge (cues only) reads a real keyword request; the second configuration's
    identical questions are not asked again."""
    judge = RememberingJudge(EmbeddedJudge(use_model=False))
    request = BacktestRequest(
        configs={"a": policy(), "b": policy(escalation_threshold=0.6)},
        baseline="a",
        conversations=[KEYWORD, UNSURE, CALM],
    )

    answer = await run_backtest(request, judge)

    assert answer.report.configs["a"].by_trigger == {"keyword": 1}
    assert answer.report.changes["b"].newly_escalating == ["unsure"]
    assert answer.report.judged == 8


class CountingEmbedder(Embedder):
    def __init__(self) -> None:
        super().__init__(cache_size=0)
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.texts.extend(texts)
        return np.stack([np.full(EMBEDDING_DIM, len(t), dtype=np.float32) for t in texts])


def test_each_text_is_embedded_once_while_it_is_remembered() -> None:
    source = CountingEmbedder()
    embeddings = RememberedEmbeddings(source, capacity=2)

    first = embeddings.embed(["a", "bb", "a"])
    again = embeddings.embed(["bb", "a"])
    embeddings.embed(["ccc"])  # evicts the least recently used: "bb"
    embeddings.embed(["a", "bb"])

    assert source.texts == ["a", "bb", "ccc", "bb"]
    assert embeddings.embedded == 4
    assert first[:, 0].tolist() == [1.0, 2.0, 1.0]
    assert again[:, 0].tolist() == [2.0, 1.0]
