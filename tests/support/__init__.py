"""Helpers shared by the tests (fixtures themselves live in tests/conftest.py and its siblings)."""
