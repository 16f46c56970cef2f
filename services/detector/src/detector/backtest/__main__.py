"""``make backtest FILE=… [SET="…"] [AGAINST="…"]``: what a changed escalation policy would
have done with the conversations of a JSON-lines file (the format of
``shared/datasets/dev.jsonl``: each line carries its own configuration).

``--set`` changes every line's configuration into the draft, ``--against`` into the baseline
(``key=value`` pairs, values as JSON, e.g. ``escalation_threshold=0.5 max_ai_turns=6``).
Prints the escalation rate, escalations by trigger and urgency, the conversations newly and no
longer escalating, agreement with the file's labels when it has them, and the speed.
"""

import argparse
import asyncio
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from detector.backtest.judge import backtest_judge
from detector.backtest.run import backtest
from detector.backtest.synthetic import synthesise
from detector.evaluate import Case, load_cases
from escalator_schemas.backtest import BacktestConversation, BacktestResponse
from escalator_schemas.config import EscalationConfig

ALIASES = {
    "threshold": "escalation_threshold",
    "max_ai_turns": "max_ai_turns_before_escalation",
    "keywords": "escalation_keywords",
    "conditions": "trigger_conditions",
}
SHOWN_IDS = 12


def overrides(text: str | None) -> dict[str, Any]:
    """``"escalation_threshold=0.5 'keywords=[\\"refund\\"]'"`` as configuration fields."""
    changes: dict[str, Any] = {}
    for pair in shlex.split(text or ""):
        key, separator, raw = pair.partition("=")
        if not separator:
            raise SystemExit(f"expected key=value, got {pair!r}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        changes[ALIASES.get(key, key)] = value
    return changes


def changed(config: EscalationConfig, changes: dict[str, Any]) -> EscalationConfig:
    return EscalationConfig.model_validate(config.model_dump() | changes) if changes else config


def describe(changes: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in changes.items()) or "as in the file"


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f", … (+{len(ids) - SHOWN_IDS})" if len(ids) > SHOWN_IDS else "")


def _percent(part: int, whole: int) -> str:
    return f"{part} ({part / whole:.1%})" if whole else str(part)


def table(answer: BacktestResponse, cases: list[Case], labels: dict[str, str]) -> str:
    report = answer.report
    names = list(report.configs)
    rows: list[tuple[str, ...]] = [("", *(f"{n} ({labels[n]})" for n in names))]
    figures = report.configs
    rows.append(
        ("escalated", *(_percent(figures[n].escalated, report.conversations) for n in names))
    )
    for heading, field in (("trigger", "by_trigger"), ("urgency", "by_urgency")):
        keys = sorted({k for n in names for k in getattr(figures[n], field)})
        rows.extend(
            (f"  {heading} {key}", *(str(getattr(figures[n], field).get(key, 0)) for n in names))
            for key in keys
        )
    expected = {c.id: c.expected.get("escalate") for c in cases if "escalate" in c.expected}
    if expected:
        for title, wanted in (("labels: should escalate", True), ("labels: should not", False)):
            ids = [i for i, v in expected.items() if v is wanted]
            cells = []
            for name in names:
                agree = sum(
                    r.outcomes[name].escalated is wanted
                    for r in answer.results
                    if r.conversation_id in ids
                )
                cells.append(f"{agree}/{len(ids)}")
            rows.append((title, *cells))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    for name, change in report.changes.items():
        lines += ["", f"{name} vs {report.baseline}:"]
        for title, ids in (
            ("newly escalating", change.newly_escalating),
            ("no longer escalating", change.no_longer_escalating),
        ):
            lines.append(f"  {title:<20} {len(ids):>4}  {_ids(ids)}".rstrip())
    return "\n".join(lines)


def speed(answer: BacktestResponse, use_model: bool, embedded: int) -> str:
    report, seconds = answer.report, answer.elapsed_ms / 1000
    runs = report.conversations * len(report.configs)
    return (
        f"{report.conversations} conversations, {report.messages} messages, "
        f"{len(report.configs)} configuration(s): {seconds:.2f} s, "
        f"{runs / seconds if seconds else 0:,.0f} conversation replays/s "
        f"(model {'on' if use_model else 'off'}; judged {report.judged}, "
        f"{report.judged_with_model} with the model, {embedded} texts embedded)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="conversations, JSON lines (dev.jsonl format)")
    parser.add_argument("--set", dest="draft", help="the draft: key=value changes")
    parser.add_argument("--against", dest="baseline", help="the baseline: key=value changes")
    parser.add_argument("--no-model", action="store_true", help="lexical cues only (fastest)")
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="replay N variants of every conversation, each text made unique (to measure speed)",
    )
    args = parser.parse_args(argv)
    cases = synthesise(load_cases(args.file), args.scale)
    conversations = [BacktestConversation(conversation_id=c.id, messages=c.messages) for c in cases]
    plans = {"baseline": overrides(args.baseline), "draft": overrides(args.draft)}
    if not args.draft and not args.baseline:
        plans = {"file": {}}
    configs = {
        name: [changed(case.config.config, changes) for case in cases]
        for name, changes in plans.items()
    }
    baseline = "baseline" if "baseline" in plans else None
    judge = backtest_judge(use_model=not args.no_model)
    # Not asyncio.run: on the main thread Python 3.11's runner formats the finished task (and
    # with it the whole answer) while checking its SIGINT handler, a tenth of a second per
    # thousand conversations.
    loop = asyncio.new_event_loop()
    try:
        answer = loop.run_until_complete(backtest(conversations, configs, baseline, judge))
    finally:
        loop.close()
    labels = {name: describe(changes) for name, changes in plans.items()}
    sys.stdout.write(f"backtest of {args.file}\n\n")
    sys.stdout.write(table(answer, cases, labels) + "\n\n")
    sys.stdout.write(speed(answer, not args.no_model, judge.embedded) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
