-- The W3C trace context of the event that planned each email: sending it continues that trace.
ALTER TABLE notifier_emails ADD COLUMN traceparent text, ADD COLUMN tracestate text;
