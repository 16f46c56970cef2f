"""The detector's settings as operators write them (environment variables)."""

import pytest

from detector.settings import DetectorSettings


@pytest.mark.parametrize(
    "name",
    [
        "DETECTOR_JUDGE_MODEL_FOR_ESCALATION_URGENCY",
        "DETECTOR_JUDGE_MODEL_FOR_KEYWORD_URGENCY",  # the name deployments used until 2026-11-25
    ],
)
def test_the_model_may_set_the_urgency_of_sure_escalations(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    assert DetectorSettings().judge_model_for_escalation_urgency is False
    monkeypatch.setenv(name, "true")
    assert DetectorSettings().judge_model_for_escalation_urgency is True
