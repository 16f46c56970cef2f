"""Frustration scores for the tuning report's missed escalations: the period's never-escalated
conversations go through the detector's own engine (``POST /internal/v1/backtest``, with the
agent's configuration), and the peak frustration it answers is stored on each conversation.

Scoring is best effort: a detector that is down, slow or answers nonsense never fails the
report; the conversations stay unscored and ``score_period`` says why, for the report's note.
Services never import each other, so the detector is reached over HTTP like any client.
"""

import asyncio
from dataclasses import dataclass

import httpx
import structlog
from pydantic import SecretStr, ValidationError

from escalator_runtime.db import Pool
from escalator_schemas.backtest import BacktestResponse
from escalator_schemas.config import EscalationConfig
from queue_api import tuning_conversations_repository as conversations_sql
from queue_api.tuning_repository import ReportScope

log = structlog.get_logger(__name__)

BACKTEST_PATH = "/internal/v1/backtest"
BATCH_SIZE = 50


@dataclass(frozen=True, slots=True)
class FrustrationScorer:
    """Where the detector is, and how much scoring one report request may do."""

    detector_url: str
    token: SecretStr | None
    timeout_seconds: float
    max_conversations: int
    batch_size: int = BATCH_SIZE

    async def score_period(
        self, pool: Pool, scope: ReportScope, config: EscalationConfig | None
    ) -> str | None:
        """Score what is not scored yet; None when nothing is left, else why something is."""
        if config is None:
            return "the agent has no configuration to score them with"
        pending = await conversations_sql.conversations_to_score(
            pool, scope, self.max_conversations + 1
        )
        if not pending:
            return None
        more = len(pending) > self.max_conversations
        # Webhook secrets have no business in a scoring request; and the detector reads a
        # conversation only under an enabled configuration, whatever the agent's switch says.
        document = config.model_dump(mode="json", exclude={"webhooks"}) | {"enabled": True}
        headers = {"Authorization": f"Bearer {self.token.get_secret_value()}"} if self.token else {}
        try:
            async with (
                asyncio.timeout(self.timeout_seconds),
                httpx.AsyncClient(base_url=self.detector_url, headers=headers) as client,
            ):
                chosen = pending[: self.max_conversations]
                for first in range(0, len(chosen), self.batch_size):
                    batch = chosen[first : first + self.batch_size]
                    body = {
                        "configs": {"published": document},
                        "baseline": None,
                        "conversations": [
                            {
                                "conversation_id": c.conversation_id,
                                "messages": c.messages,
                                "flag": None,
                            }
                            for c in batch
                        ],
                    }
                    response = await client.post(BACKTEST_PATH, json=body)
                    response.raise_for_status()
                    answer = BacktestResponse.model_validate_json(response.content)
                    scored_through = {c.conversation_id: c.last_message_at for c in batch}
                    await conversations_sql.store_frustration(
                        pool,
                        scope,
                        [
                            (
                                r.conversation_id,
                                r.peak_frustration,
                                scored_through[r.conversation_id],
                            )
                            for r in answer.results
                            if r.conversation_id in scored_through
                        ],
                    )
        except TimeoutError:
            return f"the detector did not score them within {self.timeout_seconds:g} s"
        except (httpx.HTTPError, ValidationError) as error:
            log.warning("frustration scoring failed", agent_id=scope.agent_id, error=str(error))
            return f"the detector could not score them ({type(error).__name__})"
        if more:
            return (
                f"at most {self.max_conversations} conversations are scored per report;"
                " the rest are scored when the report is opened again"
            )
        return None
