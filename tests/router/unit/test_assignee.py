"""Who the router's candidates are: the supervisors who match, each once, in configuration
order (whom it suggests among them: tests/router/integration/test_suggestion.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from escalator_schemas.config import Supervisor
from router.service import matching
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
