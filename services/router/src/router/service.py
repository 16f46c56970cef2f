"""Which supervisors an escalation goes to, and why: plain functions. (Whom to suggest among
them is decided where the workloads are: ``repository.route``.)"""

from collections.abc import Iterable

from escalator_schemas.config import Supervisor
from escalator_schemas.events import (
    EscalationDetected,
    EscalationFacts,
    EscalationRouted,
    SupervisorMatch,
)
from escalator_schemas.ids import event_id_for


def match_reasons(supervisor: Supervisor, escalation: EscalationFacts) -> list[str] | None:
    """Why ``supervisor`` matches ``escalation``, or None when it does not.

    Each non-empty scope list must contain the escalation's value; an empty one matches all.
    """
    if not supervisor.active:
        return None
    return supervisor.scope_reasons(escalation.category, escalation.topic, escalation.area)


def matching(
    supervisors: Iterable[Supervisor], escalation: EscalationFacts
) -> list[tuple[Supervisor, SupervisorMatch]]:
    """The supervisors who match, in configuration order, each once (the first entry of an id
    wins), with the match they are announced by."""
    seen: set[str] = set()
    found: list[tuple[Supervisor, SupervisorMatch]] = []
    for supervisor in supervisors:
        if supervisor.id in seen:
            continue
        seen.add(supervisor.id)
        reasons = match_reasons(supervisor, escalation)
        if reasons is not None:
            match = SupervisorMatch(
                supervisor_id=supervisor.id,
                name=supervisor.name,
                email=supervisor.email,
                reasons=reasons,
            )
            found.append((supervisor, match))
    return found


def matching_supervisors(
    supervisors: Iterable[Supervisor], escalation: EscalationFacts
) -> list[SupervisorMatch]:
    return [match for _supervisor, match in matching(supervisors, escalation)]


def routed_event(
    detected: EscalationDetected, matches: list[SupervisorMatch], suggested: str | None = None
) -> EscalationRouted:
    facts = detected.model_dump(exclude={"event_id", "event_type", "occurred_at"})
    return EscalationRouted(
        **facts,
        event_id=event_id_for(detected.escalation_id, "escalation.routed"),
        occurred_at=detected.occurred_at,
        matched_supervisors=matches,
        suggested_assignee=suggested,
        unrouted=not matches,
    )
