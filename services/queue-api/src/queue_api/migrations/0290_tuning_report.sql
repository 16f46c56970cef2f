-- The tuning report (issue 9) reads an agent's escalations by period and looks up whether a
-- conversation was ever escalated; both would otherwise scan the tenant's whole history.
CREATE INDEX escalations_agent_period
    ON escalations (tenant_id, agent_id, environment, detected_at);
CREATE INDEX escalations_agent_conversation
    ON escalations (tenant_id, agent_id, environment, conversation_id);

-- The last message the stored peak_frustration covers: a conversation that went on
-- after that is scored again, so peak_frustration never lags behind its later messages.
ALTER TABLE conversations ADD COLUMN frustration_scored_through timestamptz;
