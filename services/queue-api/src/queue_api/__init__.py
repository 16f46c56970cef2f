"""Persists escalations and serves the supervisors' realtime queue and the escalation settings."""
