-- Every conversation the system has seen, kept for `CONVERSATION_RETENTION_DAYS` so a draft
-- policy can be backtested on it (issue 11) and the tuning report can count escalation rates
-- and missed escalations (issue 9). Written by queue-api's own chat.messages consumer.
CREATE TABLE conversations (
    tenant_id         text        NOT NULL,
    agent_id          text        NOT NULL,
    environment       text        NOT NULL,
    conversation_id   text        NOT NULL,
    first_message_at  timestamptz NOT NULL,
    last_message_at   timestamptz NOT NULL,
    message_count     integer     NOT NULL DEFAULT 0,
    -- The detector's peak frustration (0..1) over the conversation's customer messages, when
    -- known; filled by whoever evaluated it (tuning report / backtest with the published config).
    peak_frustration  double precision,
    -- A supervisor marked it as an escalation the policy missed.
    missed_marked_by  text,
    missed_marked_at  timestamptz,
    missed_note       text,
    PRIMARY KEY (tenant_id, agent_id, environment, conversation_id)
);
CREATE INDEX conversations_period ON conversations (tenant_id, agent_id, environment, last_message_at);
CREATE INDEX conversations_expiry ON conversations (last_message_at);

-- The messages themselves, exactly as published (the ChatMessage JSON).
CREATE TABLE conversation_messages (
    tenant_id        text        NOT NULL,
    agent_id         text        NOT NULL,
    environment      text        NOT NULL,
    conversation_id  text        NOT NULL,
    message_id       text        NOT NULL,
    sent_at          timestamptz NOT NULL,
    message          jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, agent_id, environment, conversation_id, message_id),
    FOREIGN KEY (tenant_id, agent_id, environment, conversation_id)
        REFERENCES conversations ON DELETE CASCADE
);
