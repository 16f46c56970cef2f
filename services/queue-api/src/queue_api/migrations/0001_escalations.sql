-- The supervisors' queue: one row per escalation, with what the detector and router decided.
CREATE TABLE escalations (
    escalation_id        uuid        PRIMARY KEY,
    tenant_id            text        NOT NULL,
    agent_id             text        NOT NULL,
    environment          text        NOT NULL,
    conversation_id      text        NOT NULL,
    status               text        NOT NULL DEFAULT 'pending'
                                     CHECK (status IN ('pending', 'in_progress', 'completed')),
    urgency              text        NOT NULL,
    severity             text        NOT NULL,
    category             text        NOT NULL,
    topic                text        NOT NULL,
    area                 text        NOT NULL,
    reason               text        NOT NULL,
    trigger              jsonb       NOT NULL,
    triggers             jsonb       NOT NULL,
    customer             jsonb,
    transcript           jsonb       NOT NULL,
    turn_count           integer     NOT NULL,
    trigger_message_id   text        NOT NULL,
    config_version       bigint,
    matched_supervisors  jsonb       NOT NULL DEFAULT '[]',
    visible_to           text[]      NOT NULL DEFAULT '{}',
    suggested_assignee   text,
    unrouted             boolean     NOT NULL DEFAULT false,
    assigned_to          text,
    resolution_note      text,
    ai_could_have_handled boolean    NOT NULL DEFAULT false,
    detected_at          timestamptz NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    claimed_at           timestamptz,
    completed_at         timestamptz
);
CREATE INDEX escalations_queue ON escalations (tenant_id, detected_at DESC, escalation_id DESC);
CREATE INDEX escalations_status ON escalations (tenant_id, status, detected_at DESC);
CREATE INDEX escalations_visible ON escalations USING gin (visible_to);

-- Who did what to an escalation, and when.
CREATE TABLE escalation_audit (
    id             bigserial   PRIMARY KEY,
    escalation_id  uuid        NOT NULL REFERENCES escalations ON DELETE CASCADE,
    action         text        NOT NULL,
    actor          text,
    at             timestamptz NOT NULL DEFAULT now(),
    detail         jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX escalation_audit_escalation ON escalation_audit (escalation_id, id);
