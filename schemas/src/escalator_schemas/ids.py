"""Deterministic identifiers: a replay yields the same ids, so consumers deduplicate on them."""

from uuid import UUID, uuid5

# Fixed forever: changing it would change every escalation id.
ESCALATOR_NAMESPACE = UUID("6f1c1f2e-2d4b-5c51-9a57-2f1f0d6c0e11")


def escalation_id_for(
    tenant_id: str, agent_id: str, environment: str, conversation_id: str, message_id: str
) -> UUID:
    """The id of the escalation triggered by one message of one conversation."""
    return uuid5(
        ESCALATOR_NAMESPACE,
        f"escalation/{tenant_id}/{agent_id}/{environment}/{conversation_id}/{message_id}",
    )


def event_id_for(escalation_id: UUID, event_type: str, discriminator: str = "") -> UUID:
    """The id of an event that follows deterministically from an escalation."""
    return uuid5(ESCALATOR_NAMESPACE, f"event/{escalation_id}/{event_type}/{discriminator}")
