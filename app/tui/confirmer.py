"""The engine's `Confirmer`, answered by the operator in a modal on the dashboard."""

from __future__ import annotations

import asyncio
from typing import Protocol

from app.engine.api import ConfirmationRequest


class Asker(Protocol):
    async def ask(self, request: ConfirmationRequest) -> bool: ...


class DashboardConfirmer:
    """Handed to the Fleet when it is opened (before the dashboard exists); the dashboard attaches
    itself when it starts. With no dashboard attached (not started yet, or closed), nothing is
    confirmed."""

    def __init__(self) -> None:
        self._asker: Asker | None = None

    def attach(self, asker: Asker | None) -> None:
        self._asker = asker

    async def confirm(self, request: ConfirmationRequest) -> bool:
        asker = self._asker
        if asker is None:
            return False
        try:
            return bool(await asker.ask(request))
        except asyncio.CancelledError:
            raise
        except Exception:
            return False
