"""What every benchmark shares: realistic traffic, the result table, the JSON record."""

import json
import random
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

CALM = [
    "Hi, could you tell me whether the {item} comes in a larger size? I'd like to order it for"
    " my brother's birthday next month and want to be sure it fits him well.",
    "Thanks for the quick answer! One more question: does the {item} ship with a charger, or do"
    " I need to buy one separately? Also, is there a warranty on it?",
    "I placed order #{n} yesterday and wanted to check the delivery estimate. No rush at all,"
    " just planning around a trip at the end of the month.",
    "Do you have the {item} in stock at the moment? The product page says 'limited', and I'm"
    " not sure whether that means it will sell out soon.",
]
# Two escalate on a keyword and one on an urgency the cues are sure of, without waiting for the
# embedding model; the last escalates only if the model reads anger in it (``MODEL_DECIDES``):
# what the latency of each kind costs shows in the same run.
ESCALATING = [
    "This is the third time I'm asking about order #{n}. Nobody answers and I'm sick of it. I"
    " want to speak to a person NOW, not another bot answer.",
    "The {item} arrived broken and I need a refund today, I'm not waiting another two weeks.",
    "Order #{n} has to be here by tomorrow morning, it's for my daughter's party. Tracking"
    " hasn't moved in four days.",
    "This is the second {item} (order #{n}) that arrived damaged. I am really disappointed and"
    " starting to regret buying from you.",
]
MODEL_DECIDES = ESCALATING[3]
"""The escalating message whose fate only the embedding model can tell: the cues are unsure of
its anger, and the model finds it in about 5 of 6 (a new order number each time, so no two are
the same text and the embedder's cache never answers for the model)."""


def decided_by_model(text: str) -> bool:
    """Whether ``text`` was made from ``MODEL_DECIDES``."""
    return text.startswith(MODEL_DECIDES.split("{", 1)[0])


AI = [
    "Happy to help! The {item} is available in sizes S to XL; our size guide is on the product"
    " page, under the photos.",
    "Your order #{n} left our warehouse this morning and should arrive within 3 business days.",
]
ITEMS = ["Harbor tent", "Vortex 900 blender", "Atlas chair", "Lumen bar lamp", "Glow serum"]


def chat_messages(
    count: int, tenant: str, agent: str, escalating_share: float, seed: int = 7
) -> Iterator[dict[str, Any]]:
    """Customer and AI messages in alternation over many conversations, ~300 characters each;
    ``escalating_share`` of the customer messages carry an escalation signal."""
    rng = random.Random(seed)
    start = datetime.now(UTC)
    for index in range(count):
        conversation = f"{agent}-c{index // 8}"
        customer = index % 2 == 0
        if customer:
            template = rng.choice(ESCALATING if rng.random() < escalating_share else CALM)
        else:
            template = rng.choice(AI)
        yield {
            "message_id": f"{agent}-m{index}",
            "conversation_id": conversation,
            "tenant_id": tenant,
            "agent_id": agent,
            "role": "customer" if customer else "ai",
            "text": template.format(item=rng.choice(ITEMS), n=rng.randint(10_000, 99_999)),
            "sent_at": (start + timedelta(milliseconds=index)).isoformat(),
            "ai_confidence": None if customer else round(rng.uniform(0.7, 0.99), 2),
        }


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    goal: str = ""

    @property
    def ratio(self) -> str:
        if not self.baseline_value:
            return ""
        return f"{self.value / self.baseline_value:.2f}x"


def percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _baseline(row: Row) -> str:
    if row.baseline_value is None:
        return row.baseline
    return f"{row.baseline_value:,.1f} {row.unit}  {row.baseline}"


def table(title: str, rows: Sequence[Row]) -> str:
    header = ("measure", "value", "baseline (same run)", "ratio", "goal")
    cells = [(r.name, f"{r.value:,.1f} {r.unit}", _baseline(r), r.ratio, r.goal) for r in rows]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = [title, line, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells]
    return "\n".join([*out, line])


def record(name: str, rows: Sequence[Row], extra: dict[str, Any] | None = None) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(
        json.dumps(
            {
                "benchmark": name,
                "at": datetime.now(UTC).isoformat(),
                "rows": [
                    {
                        "name": r.name,
                        "value": r.value,
                        "unit": r.unit,
                        "baseline": r.baseline,
                        "baseline_value": r.baseline_value,
                        "goal": r.goal,
                    }
                    for r in rows
                ],
                **(extra or {}),
            },
            indent=2,
        )
    )
    return path


def mean(samples: Sequence[float]) -> float:
    return statistics.fmean(samples) if samples else 0.0
