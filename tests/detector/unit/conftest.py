"""What the language tests share."""

import pytest

from detector.language.embedded import EmbeddedJudge


@pytest.fixture(scope="session")
def judge() -> EmbeddedJudge:
    """One judge (and one loaded model) for the whole session; no rate limit, so every open
    decision reaches the model as it would under normal load."""
    return EmbeddedJudge(model_time_share=None)
