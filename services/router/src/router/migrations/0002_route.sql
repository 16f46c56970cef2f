-- Routing a batch of escalations in one round trip, where the workloads live (router.repository
-- .route). In order, each escalation gets the decision already stored for it (a redelivered
-- detection, or another router instance's), else a new one: its suggested assignee is the
-- least loaded candidate below their max_concurrent; on equal load the one idle the longest
-- (never assigned counts as longest), then the first in the configuration; nobody when every
-- candidate is at capacity. The suggested supervisor counts as assigned at `at` (plus a
-- microsecond per place in the batch, so that equals take turns within a batch too).
-- matched_supervisors is returned for decisions taken before; a new one's are the caller's.
CREATE FUNCTION router_route(batch jsonb, at timestamptz)
RETURNS TABLE (n integer, escalation_id uuid, matched_supervisors jsonb,
               suggested_assignee text, replayed boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    item record;
    chosen text;
BEGIN
    FOR item IN
        SELECT * FROM jsonb_to_recordset(batch)
            AS b(n integer, escalation_id uuid, tenant_id text, agent_id text, environment text,
                 matched_supervisors jsonb, candidates jsonb, config_version bigint)
        ORDER BY b.n
    LOOP
        n := item.n;
        escalation_id := item.escalation_id;
        replayed := true;
        SELECT d.matched_supervisors, d.suggested_assignee
          INTO matched_supervisors, suggested_assignee
          FROM router_decisions d WHERE d.escalation_id = item.escalation_id;
        IF FOUND THEN
            RETURN NEXT;
            CONTINUE;
        END IF;

        SELECT c.supervisor_id INTO chosen
          FROM jsonb_to_recordset(item.candidates)
               AS c(supervisor_id text, max_concurrent integer, position integer)
          CROSS JOIN LATERAL (
              SELECT count(*) AS in_progress FROM router_assignments a
               WHERE a.tenant_id = item.tenant_id AND a.environment = item.environment
                 AND a.supervisor_id = c.supervisor_id) w
          LEFT JOIN router_supervisor_activity act
                 ON act.tenant_id = item.tenant_id AND act.environment = item.environment
                AND act.supervisor_id = c.supervisor_id
         WHERE w.in_progress < c.max_concurrent
         ORDER BY w.in_progress, act.last_assigned_at NULLS FIRST, c.position
         LIMIT 1;

        INSERT INTO router_decisions (escalation_id, tenant_id, agent_id, environment,
                                      matched_supervisors, suggested_assignee, config_version)
        VALUES (item.escalation_id, item.tenant_id, item.agent_id, item.environment,
                item.matched_supervisors, chosen, item.config_version)
        ON CONFLICT (escalation_id) DO NOTHING;
        IF NOT FOUND THEN  -- another instance stored its decision first: that one wins
            SELECT d.matched_supervisors, d.suggested_assignee
              INTO matched_supervisors, suggested_assignee
              FROM router_decisions d WHERE d.escalation_id = item.escalation_id;
            RETURN NEXT;
            CONTINUE;
        END IF;

        IF chosen IS NOT NULL THEN
            INSERT INTO router_supervisor_activity
                   (tenant_id, environment, supervisor_id, last_assigned_at)
            VALUES (item.tenant_id, item.environment, chosen,
                    at + make_interval(secs => item.n / 1000000.0))
            ON CONFLICT (tenant_id, environment, supervisor_id) DO UPDATE
            SET last_assigned_at = GREATEST(router_supervisor_activity.last_assigned_at,
                                            EXCLUDED.last_assigned_at);
        END IF;
        matched_supervisors := NULL;  -- the caller's own, as it sent them
        suggested_assignee := chosen;
        replayed := false;
        RETURN NEXT;
    END LOOP;
END
$$;
