"""Clients of the outside services: parse bytes into plain dataclasses (no SQL, no discord)."""
