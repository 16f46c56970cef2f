"""Whom the router suggests (``router_route``, in PostgreSQL where the workloads are): the least
loaded candidate with spare capacity, ties to the longest idle, then configuration order; and
a decision once taken is the answer to every redelivery."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from escalator_runtime.db import Pool, apply_migrations, create_pool
from escalator_schemas.config import Supervisor
from escalator_schemas.events import EscalationDetected
from router import repository
from router.service import matching
from tests.router.unit.test_matching import _escalation

pytestmark = [pytest.mark.integration]

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _supervisor(sid: str, max_concurrent: int = 2) -> Supervisor:
    return Supervisor(
        id=sid, name=sid.title(), email=f"{sid}@example.com", max_concurrent=max_concurrent
    )


def _detection(tenant: str) -> EscalationDetected:
    return _escalation().model_copy(update={"tenant_id": tenant, "escalation_id": uuid4()})


@pytest.fixture
async def pool(database: str) -> AsyncIterator[Pool]:
    test_pool = await create_pool(database, 2)
    await apply_migrations(test_pool, "router", "router.migrations")
    yield test_pool
    await test_pool.close()


async def _busy(pool: Pool, tenant: str, sid: str, count: int, last: datetime | None) -> None:
    for _ in range(count):
        await pool.execute(
            "INSERT INTO router_assignments VALUES ($1, $2, 'published', $3, $4)",
            uuid4(),
            tenant,
            sid,
            T0,
        )
    if last is not None:
        await pool.execute(
            "INSERT INTO router_supervisor_activity VALUES ($1, 'published', $2, $3)"
            " ON CONFLICT (tenant_id, environment, supervisor_id)"
            " DO UPDATE SET last_assigned_at = EXCLUDED.last_assigned_at",
            tenant,
            sid,
            last,
        )


async def _route(
    pool: Pool, supervisors: list[Supervisor], *detections: EscalationDetected, at: datetime = NOW
) -> list[tuple[repository.Decision, bool]]:
    batch = [(detected, matching(supervisors, detected)) for detected in detections]
    async with pool.acquire() as connection:
        return await repository.route(connection, batch, at)


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
async def test_suggested_assignee(
    pool: Pool,
    unique: str,
    case: str,
    capacities: dict[str, int],
    workloads: dict[str, tuple[int, datetime | None]],
    expected: str | None,
) -> None:
    tenant = f"t-{unique}"
    for sid, (count, last) in workloads.items():
        await _busy(pool, tenant, sid, count, last)
    supervisors = [_supervisor(sid, capacity) for sid, capacity in capacities.items()]
    [(decision, replayed)] = await _route(pool, supervisors, _detection(tenant))
    assert decision.suggested_assignee == expected, case
    assert [m.supervisor_id for m in decision.matched_supervisors] == list(capacities)
    assert not replayed


async def test_no_candidates_no_suggestion(pool: Pool, unique: str) -> None:
    [(decision, _replayed)] = await _route(pool, [], _detection(f"t-{unique}"))
    assert decision == repository.Decision([], None)


async def test_equals_take_turns_across_batches_and_within_one(pool: Pool, unique: str) -> None:
    """A suggestion counts as an assignment: work spreads across equals."""
    tenant = f"t-{unique}"
    people = [_supervisor("ann"), _supervisor("ben"), _supervisor("cat")]
    picked = []
    for minute in range(4):
        [(decision, _)] = await _route(pool, people, _detection(tenant), at=_at(minute))
        picked.append(decision.suggested_assignee)
    batch = await _route(pool, people, *(_detection(tenant) for _ in range(5)), at=_at(10))
    picked += [decision.suggested_assignee for decision, _ in batch]
    assert picked == ["ann", "ben", "cat", "ann", "ben", "cat", "ann", "ben", "cat"]


async def test_a_decision_is_the_answer_to_every_redelivery(pool: Pool, unique: str) -> None:
    """Even once the workloads changed, and twice in one batch."""
    tenant = f"t-{unique}"
    people = [_supervisor("ann"), _supervisor("ben")]
    detected = _detection(tenant)
    [(first, replayed)] = await _route(pool, people, detected)
    assert (first.suggested_assignee, replayed) == ("ann", False)
    await _busy(pool, tenant, "ann", 2, _at(59))
    again = await _route(pool, people, detected, _detection(tenant), detected)
    assert [(d.suggested_assignee, r) for d, r in again] == [
        ("ann", True),
        ("ben", False),
        ("ann", True),
    ]
    assert again[0][0] == first
