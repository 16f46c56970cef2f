"""Delivers signed escalation events to integrators."""
