-- The preview chat: handoff commands (chat.handoffs) of preview conversations, as a chat
-- backend would receive them, so the merchant sees the escalation response in the browser.
CREATE TABLE preview_handoffs (
    event_id         uuid        PRIMARY KEY,
    tenant_id        text        NOT NULL,
    agent_id         text        NOT NULL,
    conversation_id  text        NOT NULL,
    escalation_id    uuid        NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('handoff', 'resume_ai')),
    message          text,
    occurred_at      timestamptz NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX preview_handoffs_conversation
    ON preview_handoffs (tenant_id, agent_id, conversation_id, occurred_at);
CREATE INDEX preview_handoffs_received ON preview_handoffs (received_at);
