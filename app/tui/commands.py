"""The command palette (ctrl+p): every operation the keys offer, plus one entry per accessory and per
rollback version, so nothing needs a key to be remembered. The App decides what is on offer."""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider


class DashboardCommands(Provider):
    def _commands(self):
        return self.app.palette_commands()  # type: ignore[attr-defined]

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.name, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(score, matcher.highlight(command.name), command.callback, help=command.help)
