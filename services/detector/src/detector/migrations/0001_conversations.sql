-- The detector's memory of each conversation: turn count, pause, idle deadline, recent
-- transcript and the ids of recently processed messages (to ignore redeliveries).
CREATE TABLE detector_conversations (
    tenant_id        text        NOT NULL,
    agent_id         text        NOT NULL,
    environment      text        NOT NULL,
    conversation_id  text        NOT NULL,
    state            jsonb       NOT NULL,
    idle_deadline    timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, agent_id, environment, conversation_id)
);
-- The idle sweeper scans only conversations waiting for a reply.
CREATE INDEX detector_conversations_idle ON detector_conversations (idle_deadline)
    WHERE idle_deadline IS NOT NULL;
CREATE INDEX detector_conversations_updated ON detector_conversations (updated_at);
