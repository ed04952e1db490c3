"""Validation as it was before the integer fast paths: the specification of the new code."""
