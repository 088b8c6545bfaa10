"""Fixtures for the managed-identity tests (defined in tests/support/managed_identity.py)."""

from tests.support.managed_identity import azurite_oauth, identity_endpoint

__all__ = ["azurite_oauth", "identity_endpoint"]
