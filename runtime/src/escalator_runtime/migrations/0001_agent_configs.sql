-- Escalation configuration per agent: a draft (used by the preview environment) and a
-- published version (used by the published environment). Written by queue-api, read live by
-- detector and router, which LISTEN on 'escalator_agent_config' for changes.
CREATE TABLE agent_configs (
    tenant_id   text        NOT NULL,
    agent_id    text        NOT NULL,
    stage       text        NOT NULL CHECK (stage IN ('draft', 'published')),
    version     bigint      NOT NULL,
    config      jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text        NOT NULL,
    PRIMARY KEY (tenant_id, agent_id, stage)
);

-- Who changed what, when: every save and every publish.
CREATE TABLE agent_config_changes (
    id          bigserial   PRIMARY KEY,
    tenant_id   text        NOT NULL,
    agent_id    text        NOT NULL,
    stage       text        NOT NULL,
    version     bigint      NOT NULL,
    action      text        NOT NULL CHECK (action IN ('save', 'publish')),
    changed_by  text        NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changes     jsonb       NOT NULL
);
CREATE INDEX agent_config_changes_agent ON agent_config_changes (tenant_id, agent_id, id DESC);
