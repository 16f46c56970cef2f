"""Settings read from the environment: an optional setting given empty is unset."""

import pytest
from pydantic import ValidationError

from detector.settings import DetectorSettings
from queue_api.settings import QueueApiSettings


def test_an_empty_optional_setting_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    # As an env file's `DETECTOR_LLM_BASE_URL=` or compose's `${LLM_BASE_URL:-}` give them.
    for name in (
        "LLM_BASE_URL",
        "LLM_API_KEY",
        "JUDGE_MODEL_MAX_WAIT_MS",
        "JUDGE_MODEL_TIME_SHARE",
    ):
        monkeypatch.setenv(f"DETECTOR_{name}", "")
    monkeypatch.setenv("QUEUE_API_SUMMARY_LLM_BASE_URL", "")

    detector = DetectorSettings(_env_file=None)

    assert detector.llm_base_url is None  # no LLM judge, rather than one at ""
    assert detector.llm_api_key is None
    assert detector.judge_model_max_wait_ms is None  # the model is always asked
    assert detector.judge_model_time_share is None  # no limit
    assert QueueApiSettings(_env_file=None).summary_llm_base_url is None


def test_an_empty_required_setting_stays_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_GROUP_SUFFIX", "")
    monkeypatch.setenv("DETECTOR_JUDGE_MODEL_MAX_WAIT_MS", "250")

    settings = DetectorSettings(_env_file=None)

    assert settings.kafka_group_suffix == ""
    assert settings.judge_model_max_wait_ms == 250


def test_an_empty_number_that_cannot_be_none_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DETECTOR_STATE_CACHE_SIZE", "")

    with pytest.raises(ValidationError, match="state_cache_size"):
        DetectorSettings(_env_file=None)
