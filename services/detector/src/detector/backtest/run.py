"""Runs a backtest: every conversation replayed under every configuration by the detector's own
engine (``detector.replay``), then compared.

Idle timeouts are not replayed (they fire on a clock, between messages, not on a message).
"""

import time
from collections import Counter
from collections.abc import Mapping, Sequence

from detector.language import LanguageJudge
from detector.replay import Conversation, Replay, Replayed, replay
from escalator_schemas.backtest import (
    BacktestConversation,
    BacktestReport,
    BacktestRequest,
    BacktestResponse,
    Changes,
    ConfigFigures,
    ConversationResult,
    FlaggedFigures,
    Outcome,
)
from escalator_schemas.config import AgentConfigVersion, EscalationConfig


def outcome_of(replayed: Replayed) -> Outcome:
    detected = replayed.detected
    if detected is None:
        return Outcome(
            escalated=False, trigger_message_id=None, trigger=None, triggers=[], urgency=None
        )
    return Outcome(
        escalated=True,
        trigger_message_id=detected.trigger_message_id,
        trigger=detected.trigger.kind.value,
        triggers=list(dict.fromkeys(t.kind.value for t in detected.triggers)),
        urgency=detected.urgency.value,
    )


def peak_frustration(replayed: Replayed) -> float:
    scores = [judgement.anger.score for judgement in replayed.judgements]
    return round(min(1.0, max(scores, default=0.0)), 3)


async def run_backtest(request: BacktestRequest, judge: LanguageJudge) -> BacktestResponse:
    """Replay ``request``'s conversations under each of its configurations."""
    count = len(request.conversations)
    return await backtest(
        request.conversations,
        {name: [config] * count for name, config in request.configs.items()},
        request.baseline,
        judge,
    )


async def backtest(
    conversations: Sequence[BacktestConversation],
    configs: Mapping[str, Sequence[EscalationConfig]],
    baseline: str | None,
    judge: LanguageJudge,
) -> BacktestResponse:
    """Replay ``conversations`` under each named configuration; ``configs[name][i]`` is the
    one conversation ``i`` is decided with (labelled datasets carry one per conversation)."""
    started = time.perf_counter()
    names = list(configs)
    versions: dict[int, AgentConfigVersion] = {}  # by id(): configs are not hashable
    replays: dict[str, Replay] = {}
    for name, per_conversation in configs.items():
        to_replay = []
        for conversation, config in zip(conversations, per_conversation, strict=True):
            version = versions.get(id(config))
            if version is None:
                version = versions[id(config)] = AgentConfigVersion(
                    tenant_id="backtest", agent_id="backtest", version=0, config=config
                )
            to_replay.append(Conversation(conversation.messages, version))
        replays[name] = await replay(to_replay, judge)
    # Frustration is read from the customer's words alone: any configuration's reading will do.
    reading = replays[baseline or names[0]]
    results = [
        ConversationResult(
            conversation_id=conversation.conversation_id,
            peak_frustration=peak_frustration(reading.conversations[index]),
            outcomes={name: outcome_of(replays[name].conversations[index]) for name in names},
        )
        for index, conversation in enumerate(conversations)
    ]
    report = report_of(
        results,
        conversations,
        names,
        baseline,
        judged=sum(r.judged for r in replays.values()),
        judged_with_model=sum(r.judged_with_model for r in replays.values()),
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    return BacktestResponse(results=results, report=report, elapsed_ms=round(elapsed_ms, 3))


def _figures(results: Sequence[ConversationResult], name: str) -> ConfigFigures:
    escalated = [r.outcomes[name] for r in results if r.outcomes[name].escalated]
    return ConfigFigures(
        escalated=len(escalated),
        escalation_rate=round(len(escalated) / len(results), 4) if results else 0.0,
        by_trigger=dict(Counter(o.trigger for o in escalated if o.trigger).most_common()),
        by_urgency=dict(Counter(o.urgency for o in escalated if o.urgency).most_common()),
    )


def _changes(results: Sequence[ConversationResult], name: str, baseline: str) -> Changes:
    return Changes(
        newly_escalating=[
            r.conversation_id
            for r in results
            if r.outcomes[name].escalated and not r.outcomes[baseline].escalated
        ],
        no_longer_escalating=[
            r.conversation_id
            for r in results
            if r.outcomes[baseline].escalated and not r.outcomes[name].escalated
        ],
    )


def _flagged(
    results: Sequence[ConversationResult], flags: Mapping[str, str | None], name: str
) -> FlaggedFigures:
    false = [r for r in results if flags[r.conversation_id] == "false_escalation"]
    missed = [r for r in results if flags[r.conversation_id] == "missed"]
    return FlaggedFigures(
        false_escalations=len(false),
        no_longer_escalated=[r.conversation_id for r in false if not r.outcomes[name].escalated],
        still_escalated=[r.conversation_id for r in false if r.outcomes[name].escalated],
        missed=len(missed),
        now_caught=[r.conversation_id for r in missed if r.outcomes[name].escalated],
        still_missed=[r.conversation_id for r in missed if not r.outcomes[name].escalated],
    )


def report_of(
    results: Sequence[ConversationResult],
    conversations: Sequence[BacktestConversation],
    names: Sequence[str],
    baseline: str | None,
    *,
    judged: int = 0,
    judged_with_model: int = 0,
) -> BacktestReport:
    flags = {c.conversation_id: c.flag for c in conversations}
    return BacktestReport(
        conversations=len(results),
        messages=sum(len(c.messages) for c in conversations),
        baseline=baseline,
        configs={name: _figures(results, name) for name in names},
        changes={
            name: _changes(results, name, baseline)
            for name in names
            if baseline is not None and name != baseline
        },
        flagged={name: _flagged(results, flags, name) for name in names},
        judged=judged,
        judged_with_model=judged_with_model,
    )
