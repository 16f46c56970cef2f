"""Delivers signed escalation events to integrators (CONTRACT.md §6, Standard Webhooks).

- ``handlers``: consumes ``escalations.detected``, ``escalations.routed`` and
  ``escalations.lifecycle``; each event becomes one ``webhook_deliveries`` row per enabled
  subscription of its agent (the draft's for preview events) whose ``event_types`` include it.
  The row is unique per event and subscription, so a redelivered record creates nothing; the
  batch is acknowledged once the rows are committed. No HTTP happens there.
- ``sender``: leases due deliveries (``FOR UPDATE SKIP LOCKED``), signs each attempt afresh
  (``signing``), POSTs the event's JSON as received through the SSRF-guarded client
  (``transport``, ``addresses``) and records every attempt. The URL and secret are those
  configured at the time of the attempt. Schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
  10 h, 10 h, each +-20%; then the delivery has failed (``service.decide``).
- An endpoint answering 410, or failing for 5 days, is disabled: a ``webhook_notifications``
  row (what queue-api shows the tenant at ``GET /api/v1/webhooks/notifications`` and with the
  delivery log), a warning log line and ``escalator_webhook_endpoints_disabled_total``. Its
  waiting deliveries fail without being sent; a redelivery or replay switches it on again.

Not guaranteed, as with every Standard Webhooks sender: order between events (retries
interleave), and exactly-once (a crash after the receiver answered and before the attempt was
recorded resends it, with the same ``webhook-id`` for the receiver to deduplicate on).
Concurrency limits are per dispatcher instance.
"""
