"""Kamal's `test` adapter: every secret's value is its (prefixed) name reversed."""

from __future__ import annotations

from app.secrets.adapters.base import Adapter


class TestAdapter(Adapter):
    __test__ = False  # not a pytest class

    def check_dependencies(self) -> None:
        return None

    def login(self, account: str | None) -> str | None:
        return None

    def fetch_secrets(self, secrets, *, account, from_, session):
        return {name: name[::-1] for name in self.prefixed(secrets, from_)}
