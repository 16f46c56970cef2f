"""``make eval`` reads condition rows (the judge's training format) as conversations too."""

import json
from pathlib import Path

from detector.evaluate import load_cases
from escalator_schemas.chat import Role


def test_a_condition_row_is_a_conversation_with_that_condition_alone(tmp_path: Path) -> None:
    rows = [
        {
            "condition": "Escalate when a guest reports bedbugs in their room.",
            "text": "Found little bites all over my arms this morning, and bugs in the sheets.",
            "earlier": ["Hi, I'm in room 312."],
            "match": 1,
        },
        {
            "condition": "Escalate when a guest reports bedbugs in their room.",
            "text": "Does the hotel do regular pest control?",
            "earlier": [],
            "match": 0,
        },
    ]
    path = tmp_path / "conditions.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")

    matching, near_miss = load_cases(path)

    assert [(m.role, m.text) for m in matching.messages] == [
        (Role.CUSTOMER, "Hi, I'm in room 312."),
        (Role.AI, "Thanks, let me check that for you."),
        (Role.CUSTOMER, rows[0]["text"]),
    ]
    config = matching.config.config
    assert [c.description for c in config.trigger_conditions] == [rows[0]["condition"]]
    assert config.escalation_keywords == []
    assert matching.expected == {"escalate": True, "at_index": 2, "triggers": ["condition"]}
    assert [m.text for m in near_miss.messages] == [rows[1]["text"]]
    assert near_miss.expected == {"escalate": False}
