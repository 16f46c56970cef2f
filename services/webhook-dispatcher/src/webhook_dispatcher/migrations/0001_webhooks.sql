-- Webhook deliveries and every attempt at them. The dispatcher owns this schema; queue-api reads
-- and writes these tables (delivery log, redeliver, replay, secret rotation) but never migrates.

-- One delivery per event and subscription: a redelivered Kafka event inserts nothing new.
CREATE TABLE webhook_deliveries (
    id                  uuid        PRIMARY KEY,
    tenant_id           text        NOT NULL,
    agent_id            text        NOT NULL,
    environment         text        NOT NULL,
    webhook_id          text        NOT NULL,
    event_id            uuid        NOT NULL,
    event_type          text        NOT NULL,
    escalation_id       uuid        NOT NULL,
    conversation_id     text        NOT NULL,
    -- The exact body sent, and signed, at every attempt.
    payload             text        NOT NULL,
    -- host:port of the receiver when the delivery was created: what concurrency is counted by.
    target_host         text        NOT NULL,
    status              text        NOT NULL DEFAULT 'pending'
                                    CHECK (status IN ('pending', 'succeeded', 'failed')),
    automatic_attempts  integer     NOT NULL DEFAULT 0,
    attempt_count       integer     NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz,
    -- A manual redelivery of a finished delivery: one attempt, no retries after it.
    final_attempt       boolean     NOT NULL DEFAULT false,
    manual_attempt      boolean     NOT NULL DEFAULT false,
    lease_owner         text,
    lease_expires_at    timestamptz,
    last_status_code    integer,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz,
    UNIQUE (event_id, webhook_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook
    ON webhook_deliveries (tenant_id, webhook_id, created_at DESC, id DESC);

-- Every request made (or refused before it was made), newest last.
CREATE TABLE webhook_attempts (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id        uuid        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt_number     integer     NOT NULL,
    trigger            text        NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
    url                text        NOT NULL,
    webhook_timestamp  bigint      NOT NULL,
    started_at         timestamptz NOT NULL,
    duration_ms        integer     NOT NULL,
    succeeded          boolean     NOT NULL,
    status_code        integer,
    error              text,
    refused            boolean     NOT NULL DEFAULT false,
    remote_address     text,
    response_headers   jsonb       NOT NULL DEFAULT '{}',
    -- At most 20 KB (WEBHOOK_DISPATCHER_MAX_RESPONSE_BODY_BYTES) of what the receiver answered.
    response_body      text
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- The health of each receiver: failing since when, and switched off (why) when it stays so.
-- Keyed by URL as well: pointing the subscription elsewhere starts afresh.
CREATE TABLE webhook_endpoints (
    tenant_id        text        NOT NULL,
    agent_id         text        NOT NULL,
    webhook_id       text        NOT NULL,
    url              text        NOT NULL,
    failing_since    timestamptz,
    last_success_at  timestamptz,
    last_failure_at  timestamptz,
    disabled_at      timestamptz,
    disabled_reason  text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, agent_id, webhook_id, url)
);

-- What the tenant is told about its endpoints (read through queue-api).
CREATE TABLE webhook_notifications (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   text        NOT NULL,
    agent_id    text        NOT NULL,
    webhook_id  text        NOT NULL,
    url         text        NOT NULL,
    kind        text        NOT NULL,
    reason      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_notifications_tenant ON webhook_notifications (tenant_id, id DESC);

-- Secrets replaced by a rotation, still signed with until they expire (the overlap).
CREATE TABLE webhook_previous_secrets (
    tenant_id   text        NOT NULL,
    agent_id    text        NOT NULL,
    webhook_id  text        NOT NULL,
    secret      text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, agent_id, webhook_id, secret)
);
