"""The engine's `Confirmer`, answered by the operator in a modal on the dashboard."""

from __future__ import annotations

import asyncio
from typing import Protocol

from app.engine.api import ConfirmationRequest


class Asker(Protocol):
    async def ask(self, request: ConfirmationRequest) -> bool: ...


class DashboardConfirmer:
    """Handed to the Fleet when it is opened, before the dashboard exists (a host's unknown key can be
    met while the dashboard is still starting): a request waits until the dashboard attaches itself,
    and once it has closed, nothing more is confirmed."""

    def __init__(self) -> None:
        self._asker: Asker | None = None
        self._closed = False
        self._changed: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def attach(self, asker: Asker | None) -> None:
        """The dashboard is ready to ask (`asker`), or has closed (None)."""
        self._asker = asker
        if asker is None:
            self._closed = True
        if self._changed is not None:
            self._changed.set()

    async def confirm(self, request: ConfirmationRequest) -> bool:
        while self._asker is None and not self._closed:
            event = self._event()
            event.clear()
            await event.wait()
        asker = self._asker
        if asker is None:
            return False
        try:
            return bool(await asker.ask(request))
        except asyncio.CancelledError:
            raise
        except Exception:
            return False
