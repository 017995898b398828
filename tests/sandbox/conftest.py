"""Sandbox fixtures (implemented in tests/fleet.py so other test folders can import them too)."""

from tests.fleet import demo_project, sandbox

__all__ = ["demo_project", "sandbox"]
