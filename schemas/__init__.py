"""Pydantic models: Commerce payloads, the normalized contract, Dotdigital bodies; pure mappings."""
