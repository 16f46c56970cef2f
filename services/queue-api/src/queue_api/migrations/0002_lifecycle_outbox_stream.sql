-- Lifecycle: every state change bumps `revision` (part of the change's deterministic event ids);
-- an unclaimed escalation breaches its SLA at `sla_deadline`, once (`sla_breached_at`).
ALTER TABLE escalations
    ADD COLUMN revision          integer     NOT NULL DEFAULT 0,
    ADD COLUMN reassigned_to_ai  boolean     NOT NULL DEFAULT false,
    ADD COLUMN pending_since     timestamptz,
    ADD COLUMN sla_seconds       integer,
    ADD COLUMN sla_deadline      timestamptz,
    ADD COLUMN sla_breached_at   timestamptz;
UPDATE escalations SET pending_since = detected_at WHERE status = 'pending';
CREATE INDEX escalations_sla_due ON escalations (sla_deadline)
    WHERE status = 'pending' AND sla_breached_at IS NULL AND sla_deadline IS NOT NULL;
CREATE INDEX escalations_assigned ON escalations (tenant_id, assigned_to)
    WHERE assigned_to IS NOT NULL;

-- Transactional outbox: events written in the transaction of the state change they announce,
-- published by the relay and deleted once the broker acknowledged them. `event_id` is fixed
-- here, so a re-send after a crash is the same event.
CREATE TABLE escalation_outbox (
    id               bigserial   PRIMARY KEY,
    event_id         uuid        NOT NULL UNIQUE,
    topic            text        NOT NULL,
    key              text        NOT NULL,
    event_type       text        NOT NULL,
    payload          jsonb       NOT NULL,
    headers          jsonb       NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer     NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz,
    last_error       text
);

-- The realtime feed: one row per new or changed escalation, numbered per tenant. The head row
-- is locked by each writing transaction until it commits, so a tenant's numbers are committed
-- in order and a reader that has seen `seq` n has seen everything below it.
CREATE TABLE escalation_change_heads (
    tenant_id  text   PRIMARY KEY,
    seq        bigint NOT NULL
);

CREATE TABLE escalation_changes (
    tenant_id      text        NOT NULL,
    seq            bigint      NOT NULL,
    escalation_id  uuid        NOT NULL,
    type           text        NOT NULL
                               CHECK (type IN ('escalation.created', 'escalation.updated')),
    action         text        NOT NULL,
    audience       text[]      NOT NULL DEFAULT '{}',
    escalation     jsonb       NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX escalation_changes_at ON escalation_changes (at);
