-- Every write of a state bumps its version. The instance handling a conversation keeps its
-- state in memory between batches and saves it only if the version is still the one it read:
-- a write by anyone else since (the idle timer, a resume, another instance after a rebalance)
-- makes it read the state again and decide anew.
ALTER TABLE detector_conversations ADD COLUMN version bigint NOT NULL DEFAULT 1;
