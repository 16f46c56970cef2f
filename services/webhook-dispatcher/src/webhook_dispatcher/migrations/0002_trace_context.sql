-- The W3C trace context of the event that queued each delivery: every attempt continues that trace.
ALTER TABLE webhook_deliveries ADD COLUMN traceparent text, ADD COLUMN tracestate text;
