"""Emails the matched supervisors."""
