-- Storing chat messages was dominated by their foreign key to `conversations`: the statement
-- that inserts a batch also creates or updates its conversations, and each message's check
-- then locked its conversation's freshly updated row again. Measured on batches of 350
-- messages: 210 µs of database time per message with the key, 30 without; at 2,000
-- messages/s that was a fifth of the machine. The key guarded nothing the statement does not
-- already guarantee (it writes both tables, atomically), and its cascade is now the retention
-- sweep's own second delete (conversation_repository.delete_expired).
DO $$
DECLARE
    name text;
BEGIN
    FOR name IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'conversation_messages'::regclass AND contype = 'f'
    LOOP
        EXECUTE format('ALTER TABLE conversation_messages DROP CONSTRAINT %I', name);
    END LOOP;
END $$;
