"""Who may do what to an escalation, decided without a database."""

import pytest

from queue_api.lifecycle import (
    Conflict,
    EscalationState,
    Forbidden,
    NotFound,
    check_complete,
    check_reassign_to_ai,
    check_release,
    why_claim_failed,
)
from queue_api.repository import Visibility

ALICE = Visibility("acme", "alice", admin=False)
CAROL = Visibility("acme", "carol", admin=False)
BOB = Visibility("acme", "bob", admin=False)
ADMIN = Visibility("acme", "root", admin=True)


def state(status: str, owner: str | None = None) -> EscalationState:
    return EscalationState(status, owner, ("alice", "carol"))


@pytest.mark.parametrize("check", [check_release, check_complete, check_reassign_to_ai])
def test_an_escalation_the_caller_cannot_see_does_not_exist(check: object) -> None:
    assert callable(check)
    with pytest.raises(NotFound):
        check(state("in_progress", "alice"), BOB)
    with pytest.raises(NotFound):
        check(None, ADMIN)


@pytest.mark.parametrize("check", [check_release, check_complete])
def test_release_and_complete_need_the_owner_or_an_admin(check: object) -> None:
    assert callable(check)
    assert check(state("in_progress", "alice"), ALICE).assigned_to == "alice"
    assert check(state("in_progress", "alice"), ADMIN).assigned_to == "alice"
    with pytest.raises(Forbidden):
        check(state("in_progress", "alice"), CAROL)
    for status in ("pending", "completed"):
        with pytest.raises(Conflict):
            check(state(status), ALICE)


def test_an_owner_sees_what_was_not_routed_to_them() -> None:
    owned = EscalationState("in_progress", "bob", ("alice",))
    assert check_release(owned, BOB).assigned_to == "bob"


def test_reassign_to_ai_from_pending_by_anyone_who_sees_it() -> None:
    assert check_reassign_to_ai(state("pending"), CAROL).status == "pending"
    with pytest.raises(Forbidden):
        check_reassign_to_ai(state("in_progress", "alice"), CAROL)
    assert check_reassign_to_ai(state("in_progress", "alice"), ADMIN).status == "in_progress"
    with pytest.raises(Conflict):
        check_reassign_to_ai(state("completed"), ADMIN)


def test_why_a_claim_failed() -> None:
    taken = why_claim_failed(state("in_progress", "carol"), ALICE)
    assert isinstance(taken, Conflict)
    assert taken.detail == "already claimed by carol"
    assert isinstance(why_claim_failed(state("completed"), ALICE), Conflict)
    assert isinstance(why_claim_failed(state("pending"), BOB), NotFound)
    assert isinstance(why_claim_failed(None, ADMIN), NotFound)
    assert (NotFound.status, Forbidden.status, Conflict.status) == (404, 403, 409)
