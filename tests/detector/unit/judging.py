"""What the language tests share: whether one message meets one trigger condition."""

from detector.language import Utterance
from detector.language.embedded import EmbeddedJudge
from escalator_schemas.config import TriggerCondition


def matched(judge: EmbeddedJudge, condition: TriggerCondition, text: str) -> bool:
    judgement = judge.judge_sync([Utterance(text=text, conditions=(condition,))])[0]
    return judgement.conditions[0].matched
