"""Which supervisors an escalation goes to, and why."""

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
    reasons: list[str] = []
    scopes: tuple[tuple[str, list[str], str], ...] = (
        ("category", supervisor.categories, escalation.category),
        ("topic", [str(topic) for topic in supervisor.topics], escalation.topic),
        ("area", [str(area) for area in supervisor.areas], escalation.area),
    )
    for scope, allowed, value in scopes:
        if not allowed:
            reasons.append(f"any {scope}")
        elif value in allowed:
            reasons.append(f"{scope} {value}")
        else:
            return None
    return reasons


def matching_supervisors(
    supervisors: Iterable[Supervisor], escalation: EscalationFacts
) -> list[SupervisorMatch]:
    return [
        SupervisorMatch(
            supervisor_id=supervisor.id,
            name=supervisor.name,
            email=supervisor.email,
            reasons=reasons,
        )
        for supervisor in supervisors
        if (reasons := match_reasons(supervisor, escalation)) is not None
    ]


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
