"""Deterministic demo data for 常州: departments, users, the five base libraries and catalog entries."""
