"""Which language judge the detector uses: the embedded model, or an external LLM for trigger
conditions with the embedded model as its fallback."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from detector.language import LanguageJudge
from detector.settings import DetectorSettings


@contextlib.asynccontextmanager
async def build_judge(settings: DetectorSettings) -> AsyncIterator[LanguageJudge]:
    from detector.language.embedded import EmbeddedJudge

    embedded = EmbeddedJudge(
        use_model=settings.judge_use_model,
        model_time_share=settings.judge_model_time_share,
        model_for_escalation_urgency=settings.judge_model_for_escalation_urgency,
        model_max_wait_s=(
            None
            if settings.judge_model_max_wait_ms is None
            else settings.judge_model_max_wait_ms / 1000
        ),
    )
    await asyncio.to_thread(embedded.warm_up)
    if settings.llm_base_url is None:
        yield embedded
        return
    from detector.language.llm import LlmJudge

    judge = LlmJudge(
        fallback=embedded,
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout_s=settings.llm_timeout_seconds,
    )
    try:
        yield judge
    finally:
        close = getattr(judge, "aclose", None)
        if close is not None:
            await close()
