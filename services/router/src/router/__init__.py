"""Matches escalations to supervisors by category, topic and area, and suggests the least
loaded one with spare capacity."""
