"""Evaluates every chat message and emits escalation events."""
