"""Plumbing shared by the Escalator services: settings, logging, telemetry, Kafka, PostgreSQL."""
