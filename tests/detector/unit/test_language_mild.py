"""A problem the customer calls small meets no clause about the severe form of it, whatever
similarity says; a severe one still does. Sentences written for these tests, not from any
labelled set."""

import pytest

from detector.language.embedded import EmbeddedJudge
from escalator_schemas.config import TriggerCondition
from tests.detector.unit.judging import matched

TOOTH = TriggerCondition(
    label="Dental emergency",
    description="Escalate for severe pain that painkillers don't control or bleeding that "
    "won't stop.",
)
LEAK = TriggerCondition(
    label="Emergency callout",
    description="Escalate when water is actively leaking and can't be stopped.",
)
SANGRADO = TriggerCondition(
    label="Urgencia",
    description="Escalar si hay un sangrado que no para o un dolor fuerte.",
)


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (TOOTH, "Had a crown fitted on Monday, hot tea gives me a little twinge. Is that normal?"),
        (LEAK, "The kitchen tap drips a bit at night, not urgent at all. Any slot next week?"),
        (SANGRADO, "Me sangró un poquito la encía al usar el hilo dental, nada grave. ¿Es normal?"),
    ],
)
def test_a_small_problem_is_no_severe_one(
    judge: EmbeddedJudge, condition: TriggerCondition, text: str
) -> None:
    assert not matched(judge, condition, text)


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (TOOTH, "The pain in my molar is unbearable and ibuprofen does nothing. Can I come today?"),
        (LEAK, "Water is pouring through the ceiling and the stopcock won't turn off!"),
    ],
)
def test_a_severe_problem_still_meets_it(
    judge: EmbeddedJudge, condition: TriggerCondition, text: str
) -> None:
    assert matched(judge, condition, text)
