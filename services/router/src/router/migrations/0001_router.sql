-- The router's own state: who is working on what (from escalations.lifecycle), when each
-- supervisor was last given work, and the routing decision of every escalation.

-- Escalations in progress and their owner; a supervisor's load is the count of their rows.
CREATE TABLE router_assignments (
    escalation_id  uuid        PRIMARY KEY,
    tenant_id      text        NOT NULL,
    environment    text        NOT NULL,
    supervisor_id  text        NOT NULL,
    claimed_at     timestamptz NOT NULL
);
CREATE INDEX router_assignments_owner ON router_assignments (tenant_id, environment, supervisor_id);

-- Lifecycle events already applied: a redelivered one changes nothing.
CREATE TABLE router_lifecycle_events (
    event_id    uuid        PRIMARY KEY,
    event_type  text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- When each supervisor last claimed or was suggested an escalation (ties go to the longest idle).
CREATE TABLE router_supervisor_activity (
    tenant_id         text        NOT NULL,
    environment       text        NOT NULL,
    supervisor_id     text        NOT NULL,
    last_assigned_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, environment, supervisor_id)
);

-- What the router decided for each escalation: a redelivered detection is answered the same.
CREATE TABLE router_decisions (
    escalation_id        uuid        PRIMARY KEY,
    tenant_id            text        NOT NULL,
    agent_id             text        NOT NULL,
    environment          text        NOT NULL,
    matched_supervisors  jsonb       NOT NULL,
    suggested_assignee   text,
    config_version       bigint,
    decided_at           timestamptz NOT NULL DEFAULT now()
);
