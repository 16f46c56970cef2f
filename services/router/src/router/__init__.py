"""Matches escalations to supervisors by category, topic and area."""
