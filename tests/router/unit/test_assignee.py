"""Whom the router suggests: least loaded with spare capacity, ties to the longest idle."""

from datetime import UTC, datetime, timedelta

import pytest

from escalator_schemas.config import Supervisor
from router.service import Workload, matching, suggest_assignee
from tests.router.unit.test_matching import _escalation

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _supervisor(sid: str, max_concurrent: int = 2, **scopes: object) -> Supervisor:
    return Supervisor(
        id=sid,
        name=sid.title(),
        email=f"{sid}@example.com",
        max_concurrent=max_concurrent,
        **scopes,
    )


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("case", "capacities", "workloads", "expected"),
    [
        ("nobody busy: first in the configuration", {"ann": 2, "ben": 2}, {}, "ann"),
        ("least loaded wins", {"ann": 3, "ben": 3}, {"ann": (2, None), "ben": (1, None)}, "ben"),
        (
            "least loaded wins over longer idle",
            {"ann": 3, "ben": 3},
            {"ann": (1, _at(0)), "ben": (0, _at(50))},
            "ben",
        ),
        (
            "full one skipped though idle longest",
            {"ann": 1, "ben": 3},
            {"ann": (1, _at(0)), "ben": (2, _at(50))},
            "ben",
        ),
        ("everyone full: nobody", {"ann": 1, "ben": 2}, {"ann": (1, None), "ben": (2, None)}, None),
        (
            "over capacity (max lowered since) counts as full",
            {"ann": 1, "ben": 1},
            {"ann": (4, None), "ben": (1, None)},
            None,
        ),
        (
            "tie on load: longest idle",
            {"ann": 2, "ben": 2, "cat": 2},
            {"ann": (1, _at(30)), "ben": (1, _at(10)), "cat": (1, _at(20))},
            "ben",
        ),
        (
            "tie on load: never assigned is idle longest",
            {"ann": 2, "ben": 2},
            {"ann": (0, _at(1)), "ben": (0, None)},
            "ben",
        ),
        (
            "tie on load and idle: configuration order",
            {"ann": 2, "ben": 2},
            {"ann": (1, _at(5)), "ben": (1, _at(5))},
            "ann",
        ),
    ],
)
def test_suggested_assignee(
    case: str,
    capacities: dict[str, int],
    workloads: dict[str, tuple[int, datetime | None]],
    expected: str | None,
) -> None:
    candidates = [_supervisor(sid, capacity) for sid, capacity in capacities.items()]
    loads = {sid: Workload(count, last) for sid, (count, last) in workloads.items()}
    assert suggest_assignee(candidates, loads) == expected, case


def test_no_candidates_no_suggestion() -> None:
    assert suggest_assignee([], {}) is None


@pytest.mark.parametrize(
    ("supervisors", "expected"),
    [
        ([], []),
        ([_supervisor("ann"), _supervisor("ben")], ["ann", "ben"]),
        ([_supervisor("ann", topics=["billing"]), _supervisor("ben")], ["ben"]),
        ([_supervisor("ann", areas=["payment"], topics=["refund"])], ["ann"]),
        ([_supervisor("ann", areas=["payment"], topics=["billing"])], []),
        ([_supervisor("ann", active=False), _supervisor("ben", categories=["refund"])], ["ben"]),
        # An id listed twice is one person: the first entry decides.
        ([_supervisor("ann", topics=["billing"]), _supervisor("ann")], []),
    ],
)
def test_matching_candidates(supervisors: list[Supervisor], expected: list[str]) -> None:
    escalation = _escalation(category="refund", topic="refund", area="payment")
    found = matching(supervisors, escalation)
    assert [supervisor.id for supervisor, _match in found] == expected
    assert [match.supervisor_id for _supervisor, match in found] == expected


def test_round_robin_when_suggestions_count_as_assignments() -> None:
    """Marking the suggested supervisor as just assigned spreads work across equals."""
    candidates = [_supervisor("ann"), _supervisor("ben"), _supervisor("cat")]
    loads: dict[str, Workload] = {}
    picked = []
    for minute in range(6):
        choice = suggest_assignee(candidates, loads)
        assert choice is not None
        picked.append(choice)
        loads[choice] = Workload(0, _at(minute))
    assert picked == ["ann", "ben", "cat", "ann", "ben", "cat"]
