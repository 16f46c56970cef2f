"""Every trigger's edges, through the engine the service runs (with a scripted judge)."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from detector.engine import BatchOutcome, Inbound, evaluate_batch
from detector.language import NO_SIGNAL, ConditionMatch, Judgement, Signal, Utterance
from detector.policy import idle_decision, resume
from detector.state import ConversationKey, ConversationState
from escalator_schemas.chat import ChatMessage
from escalator_schemas.classification import Urgency
from escalator_schemas.config import AgentConfigVersion, EscalationConfig, TriggerCondition
from escalator_schemas.ids import escalation_id_for

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class ScriptedJudge:
    """Reads anger, urgency, legal threats and condition matches from markers in the text."""

    def __init__(self) -> None:
        self.seen: list[Utterance] = []

    async def judge(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        self.seen.extend(utterances)
        return [self._one(u) for u in utterances]

    @staticmethod
    def _one(u: Utterance) -> Judgement:
        return Judgement(
            anger=Signal(0.9, "angry words") if "[angry]" in u.text else NO_SIGNAL,
            urgency=Signal(0.8, "deadline") if "[urgent]" in u.text else NO_SIGNAL,
            legal_threat="[legal]" in u.text,
            keyword_intent=0.1 if "[incidental]" in u.text else 1.0,
            model_skipped="backlog" if "[late]" in u.text else None,
            conditions=tuple(
                ConditionMatch(
                    c.label, 0.9 if f"[{c.label}]" in u.text else 0.1, "clause", Urgency.HIGH
                )
                for c in u.conditions
            ),
        )


def config(**overrides: object) -> AgentConfigVersion:
    values: dict[str, object] = {"enabled": True, "idle_timeout_seconds": 300}
    return AgentConfigVersion(
        tenant_id="t", agent_id="a", version=3, config=EscalationConfig(**(values | overrides))
    )


class Conversation:
    def __init__(self, cfg: AgentConfigVersion | None = None) -> None:
        self.config = cfg or config()
        self.state = ConversationState()
        self.judge = ScriptedJudge()
        self.count = 0

    def message(
        self,
        role: str,
        text: str = "",
        confidence: float | None = None,
        message_id: str | None = None,
    ) -> ChatMessage:
        self.count += 1
        return ChatMessage(
            message_id=message_id or f"m{self.count}",
            conversation_id="c",
            tenant_id="t",
            agent_id="a",
            role=role,
            text=text,
            sent_at=START + timedelta(seconds=10 * self.count),
            ai_confidence=confidence,
        )

    async def send(self, *messages: ChatMessage) -> BatchOutcome:
        states = {ConversationKey.of(messages[0]): self.state}
        return await evaluate_batch([Inbound(m, self.config) for m in messages], states, self.judge)

    async def customer(self, text: str, **kw: object) -> BatchOutcome:
        return await self.send(self.message("customer", text, **kw))  # type: ignore[arg-type]

    async def ai(self, text: str = "Sure.", confidence: float | None = 0.9) -> BatchOutcome:
        return await self.send(self.message("ai", text, confidence))


async def test_keyword_substring_escalates_with_derived_id() -> None:
    chat = Conversation()
    outcome = await chat.customer("Was I refunded for the missing item?")
    [event] = outcome.detected
    assert event.trigger.kind == "keyword"
    assert event.category == "refund"
    assert event.escalation_id == escalation_id_for("t", "a", "published", "c", "m1")
    assert event.trigger_message_id == "m1"
    assert event.config_version == 3
    [handoff] = outcome.handoffs
    assert handoff.kind == "handoff"
    assert handoff.message == chat.config.config.escalation_response


async def test_keyword_only_in_an_ai_message_does_not_escalate() -> None:
    chat = Conversation()
    await chat.customer("Is the duvet pre-washed?")
    outcome = await chat.ai("Yes. I can also connect you with a human agent or a manager.")
    assert outcome.detected == []


async def test_incidental_keyword_is_medium_and_legal_keyword_is_critical() -> None:
    incidental = await Conversation().customer("gift for my sister, a lawyer [incidental]")
    assert incidental.detected[0].urgency == "medium"
    threat = await Conversation().customer("my lawyer will call you")
    assert (threat.detected[0].urgency, threat.detected[0].category) == ("critical", "legal")


@pytest.mark.parametrize(
    ("confidence", "escalates"), [(0.59, True), (0.6, False), (0.61, False), (None, False)]
)
async def test_confidence_strictly_below_threshold(
    confidence: float | None, escalates: bool
) -> None:
    chat = Conversation(config(escalation_threshold=0.6))
    await chat.customer("Import fees to Norway?")
    outcome = await chat.ai("I believe so.", confidence)
    assert bool(outcome.detected) is escalates
    if escalates:
        assert outcome.detected[0].urgency == "medium"
        assert outcome.detected[0].category == "low_confidence"


async def test_plan_tier_default_threshold() -> None:
    starter = Conversation(config(plan_tier="starter"))
    await starter.customer("question")
    assert (await starter.ai(confidence=0.65)).detected  # 0.65 < 0.7
    enterprise = Conversation(config(plan_tier="enterprise"))
    await enterprise.customer("question")
    assert not (await enterprise.ai(confidence=0.55)).detected  # 0.55 >= 0.5


async def test_escalates_exactly_at_the_tenth_turn() -> None:
    chat = Conversation()
    for turn in range(1, 10):
        await chat.customer(f"question {turn}")
        assert (await chat.ai()).detected == [], f"turn {turn} escalated early"
    await chat.customer("question 10")
    outcome = await chat.ai()
    [event] = outcome.detected
    assert event.trigger.kind == "turn_limit"
    assert event.urgency == "low"
    assert event.turn_count == 10
    assert event.trigger_message_id == "m20"


async def test_ai_messages_without_a_customer_message_are_not_turns() -> None:
    chat = Conversation(config(max_ai_turns_before_escalation=2))
    await chat.customer("hi")
    await chat.ai()
    assert (await chat.ai("And another thing.")).detected == []
    await chat.customer("ok")
    assert (await chat.ai()).detected[0].trigger.kind == "turn_limit"


async def test_confidence_and_turn_limit_together_take_the_higher_urgency() -> None:
    chat = Conversation(config(max_ai_turns_before_escalation=1))
    await chat.customer("slope of 30 degrees?")
    [event] = (await chat.ai("Not sure.", 0.51)).detected
    assert {t.kind for t in event.triggers} == {"confidence", "turn_limit"}
    assert (event.trigger.kind, event.urgency) == ("confidence", "medium")
    assert "limit of 1 AI turns" in event.reason


async def test_repeated_clarification_requests_escalate() -> None:
    chat = Conversation()
    await chat.customer("it doesnt do the thing")
    assert not (await chat.ai("Could you clarify what you mean?")).detected
    await chat.customer("the thing!!")
    [event] = (await chat.ai("Sorry, I didn't understand. Could you rephrase?")).detected
    assert event.urgency == "medium"
    assert "clarify 2 times" in event.trigger.detail


async def test_sentiment_urgency_mapping() -> None:
    cases = {
        "[angry]": "medium",
        "[urgent]": "high",
        "[angry] [urgent]": "critical",
        "[legal]": "critical",
    }
    for text, urgency in cases.items():
        [event] = (await Conversation().customer(text)).detected
        assert (event.trigger.kind, event.urgency) == ("sentiment", urgency), text


async def test_all_fired_triggers_are_kept_and_the_most_urgent_decides() -> None:
    chat = Conversation(
        config(trigger_conditions=[TriggerCondition(label="Angry", description="x")])
    )
    [event] = (await chat.customer("get me a human agent [angry] [urgent] [Angry]")).detected
    assert {t.kind for t in event.triggers} == {"keyword", "condition", "sentiment"}
    assert event.urgency == "critical"
    assert event.trigger.kind == "sentiment"
    assert event.reason.count(";") >= 1


async def test_condition_category_uses_the_label_slug() -> None:
    chat = Conversation(
        config(trigger_conditions=[TriggerCondition(label="Legal threat", description="x")])
    )
    [event] = (await chat.customer("small claims court [Legal threat]")).detected
    assert event.category == "condition:legal-threat"
    assert event.trigger.kind == "condition"


async def test_paused_conversation_never_escalates_again_until_resumed() -> None:
    chat = Conversation()
    first = await chat.customer("talk to a human")
    assert first.detected
    assert chat.state.paused
    judged_before = len(chat.judge.seen)
    assert (await chat.customer("REFUND NOW [angry]")).detected == []
    assert len(chat.judge.seen) == judged_before, "paused conversations are not judged"
    assert (await chat.ai("...", 0.1)).detected == []
    resume(chat.state)
    again = await chat.customer("I still want a refund")
    assert again.detected
    assert again.detected[0].escalation_id != first.detected[0].escalation_id


async def test_turn_budget_restarts_after_resume() -> None:
    chat = Conversation(config(max_ai_turns_before_escalation=2))
    for _ in range(2):
        await chat.customer("q")
        outcome = await chat.ai()
    assert outcome.detected
    resume(chat.state)
    await chat.customer("q")
    assert (await chat.ai()).detected == []
    await chat.customer("q")
    assert (await chat.ai()).detected[0].turn_count == 4


async def test_redelivered_message_changes_nothing() -> None:
    chat = Conversation()
    message = chat.message("customer", "cancel my subscription please")
    first = await chat.send(message)
    assert first.detected
    snapshot = chat.state.to_json()
    # A replay of the batch that decided it (its events are published after the state is
    # saved, so they may never have left): the same events again, the state as it was.
    replay = await chat.send(message)
    assert replay.duplicates == 1
    assert replay.detected == first.detected
    assert replay.handoffs == first.handoffs
    assert chat.state.to_json() == snapshot


async def test_a_message_redelivered_after_later_batches_yields_nothing() -> None:
    chat = Conversation()
    message = chat.message("customer", "cancel my subscription please")
    assert (await chat.send(message)).detected
    await chat.ai("A colleague will be with you shortly.")
    snapshot = chat.state.to_json()
    replay = await chat.send(message)
    assert (replay.detected, replay.handoffs, replay.duplicates) == ([], [], 1)
    assert chat.state.to_json() == snapshot


async def test_a_message_redelivered_after_a_resume_yields_nothing() -> None:
    # The resume comes on its own topic, so the detector may read it before a redelivery of
    # the message that escalated; that escalation is over and must not be raised again.
    chat = Conversation()
    message = chat.message("customer", "cancel my subscription please")
    assert (await chat.send(message)).detected
    resume(chat.state)
    replay = await chat.send(message)
    assert (replay.detected, replay.handoffs, replay.duplicates) == ([], [], 1)
    assert not chat.state.paused


async def test_several_messages_of_one_conversation_in_one_batch() -> None:
    chat = Conversation()
    outcome = await chat.send(
        chat.message("customer", "hello"),
        chat.message("ai", "hi", 0.9),
        chat.message("customer", "I want a refund"),
        chat.message("customer", "talk to a human"),
    )
    assert [e.trigger_message_id for e in outcome.detected] == ["m3"]
    assert chat.judge.seen[1].earlier == ("hello",)


async def test_disabled_config_tracks_turns_but_never_escalates() -> None:
    chat = Conversation(config(enabled=False, max_ai_turns_before_escalation=1))
    await chat.customer("talk to a human")
    assert (await chat.ai(confidence=0.1)).detected == []
    assert chat.state.turns == 1


async def test_idle_timeout() -> None:
    chat = Conversation()
    await chat.customer("hello? anyone?")
    deadline = chat.state.idle_deadline
    assert deadline is not None
    assert idle_decision(chat.state, deadline - timedelta(seconds=1)) is None
    decision = idle_decision(chat.state, deadline + timedelta(seconds=1))
    assert decision is not None
    assert (decision.trigger.kind, decision.urgency, decision.category) == ("idle", "low", "idle")
    assert decision.trigger_message_id == "m1"
    assert chat.state.paused


async def test_a_reply_clears_the_idle_deadline() -> None:
    chat = Conversation()
    await chat.customer("hello?")
    await chat.ai("Hi!")
    assert chat.state.idle_deadline is None
    assert idle_decision(chat.state, START + timedelta(days=1)) is None


async def test_state_survives_serialisation() -> None:
    chat = Conversation()
    await chat.customer(
        "hi",
    )
    await chat.ai("hello", 0.8)
    await chat.customer("refund please")
    restored = ConversationState.from_json(chat.state.to_json())
    assert restored.to_json() == chat.state.to_json()
    assert restored.paused


async def test_a_legal_threat_already_covered_by_a_condition_is_not_a_second_trigger() -> None:
    legal = TriggerCondition(label="Legal threat", description="x")
    chat = Conversation(config(trigger_conditions=[legal]))
    [event] = (
        await chat.customer("I'll see you in small claims court [legal] [Legal threat]")
    ).detected
    assert [t.kind for t in event.triggers] == ["condition"]
    alone = await Conversation().customer("I'll see you in small claims court [legal]")
    assert [t.kind for t in alone.detected[0].triggers] == ["sentiment"]
    assert alone.detected[0].category == "legal"


async def test_the_judge_hears_how_long_each_message_waited() -> None:
    chat = Conversation()
    messages = [chat.message("customer", "hello"), chat.message("customer", "still there?")]
    states = {ConversationKey.of(messages[0]): chat.state}
    inbound = [Inbound(messages[0], chat.config, 0.02), Inbound(messages[1], chat.config, 1.5)]
    await evaluate_batch(inbound, states, chat.judge)
    assert [u.waited_s for u in chat.judge.seen] == [0.02, 1.5]


async def test_decisions_left_to_the_cues_are_counted_by_why() -> None:
    chat = Conversation()
    outcome = await chat.send(
        chat.message("customer", "where is it [late]"), chat.message("customer", "hello?")
    )
    assert outcome.model_skipped == {"backlog": 1}
