-- The notifier's own state: what it knows of each routed escalation (to write reminders
-- later), the SLA breaches it was told of, and the outbox of emails.

-- The routed event of each escalation, without its transcript: who matched, and what to say.
CREATE TABLE notifier_escalations (
    escalation_id  uuid        PRIMARY KEY,
    tenant_id      text        NOT NULL,
    environment    text        NOT NULL,
    routed         jsonb       NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now()
);

-- SLA breaches, kept until the escalation's routed event is known (the two topics are read
-- independently, so after a backlog a breach can be read first).
CREATE TABLE notifier_sla_breaches (
    event_id           uuid        PRIMARY KEY,
    escalation_id      uuid        NOT NULL,
    offered_to         text[]      NOT NULL,
    unclaimed_seconds  integer     NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifier_sla_breaches_escalation ON notifier_sla_breaches (escalation_id);

-- The outbox: one row per email ever planned. The unique key makes a redelivered event, a
-- replay or a second notifier instance unable to plan a second email to the same supervisor.
-- A sender claims due rows (FOR UPDATE SKIP LOCKED) by moving next_attempt_at one lease
-- ahead; a sender that dies mid-send leaves the row to be claimed again when the lease ends.
CREATE TABLE notifier_emails (
    id               bigserial   PRIMARY KEY,
    escalation_id    uuid        NOT NULL,
    supervisor_id    text        NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('escalation', 'sla_reminder')),
    tenant_id        text        NOT NULL,
    agent_id         text        NOT NULL,
    environment      text        NOT NULL,
    conversation_id  text        NOT NULL,
    recipient_name   text        NOT NULL,
    recipient_email  text        NOT NULL,
    language         text        NOT NULL,
    subject          text        NOT NULL,
    message_id       text        NOT NULL,
    -- The whole RFC 5322 message, built once: every attempt sends the same bytes.
    message          bytea       NOT NULL,
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    last_error       text,
    smtp_response    text,
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifier_emails_once UNIQUE (escalation_id, supervisor_id, kind)
);
CREATE INDEX notifier_emails_due ON notifier_emails (next_attempt_at) WHERE status = 'pending';
