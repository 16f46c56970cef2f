"""How merchant conditions are split into clauses and mapped to concepts (conditions written
for these tests, not taken from any evaluation set)."""

from detector.language.conditions import plan
from escalator_schemas.config import TriggerCondition


def clauses(description: str) -> list[tuple[str, tuple[str, ...]]]:
    condition = TriggerCondition(label="test", description=description)
    return [(clause.text, clause.concepts) for clause in plan(condition).clauses]


def test_a_parenthetical_between_commas_stays_in_its_clause() -> None:
    found = clauses("Escalate when the shopper asks, by any means, for a staff member to step in.")
    assert found == [("asks by any means for a staff member to step in", ("human",))]


def test_two_gerunds_joined_by_or_are_one_phrase() -> None:
    found = clauses("Escalate when the customer feels ill after wearing or washing our garments.")
    assert len(found) == 1
    assert found[0][1] == ("health",)


def test_or_before_a_new_verb_still_starts_a_clause() -> None:
    found = clauses("Escalate when the customer feels ill or asking for a representative.")
    assert [concepts for _, concepts in found] == [("health",), ("human",)]


def test_other_people_are_not_a_request_for_a_person() -> None:
    found = clauses("Escalate when the buyer says someone else used their card without asking.")
    assert all("human" not in concepts for _, concepts in found)
    found = clauses("Escalate when another person was hurt by the product.")
    assert [concepts for _, concepts in found] == [("safety",)]


def test_a_cue_as_written_beats_another_cue_plus_an_ending() -> None:
    # "reviewer" is a press cue; "review" + "-er" must not make it a bad-review threat.
    assert clauses("Escalate when the shopper is a product reviewer.")[0][1] == ("press",)
    assert clauses("Escalate when the shopper threatens a bad review.")[0][1] == ("review",)
