"""The Fleet's log stream (engine types) as the log view's entries (display types).

One `Source` object per stream is reused for every line (the view hashes and colours by source), and
timestamps become aware UTC datetimes; a line Docker sent without a timestamp gets the time it arrived.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime

from app.engine.api import LogEvent, LogGap, LogLine, LogSwitched, LogUnreachable
from app.logview import model


def _moment(unix_time: float | None) -> datetime:
    return datetime.fromtimestamp(unix_time, UTC) if unix_time is not None else datetime.now(UTC)


class LogFeed:
    """Adapts engine log events to log-view entries, keeping one `Source` per stream."""

    def __init__(self) -> None:
        self._sources: dict[tuple[str, str, str | None, str | None], model.Source] = {}
        # per engine kind (a StrEnum: str() of it costs more than the lookup) and host, role, accessory
        self._by_event: dict[tuple[object, str, str | None, str | None], model.Source] = {}

    def source(self, kind: str, host: str, role: str | None, accessory: str | None) -> model.Source:
        key = (kind, host, role, accessory)
        found = self._sources.get(key)
        if found is None:
            found = self._sources[key] = model.Source(kind=kind, host=host, role=role, accessory=accessory)
        return found

    def entry(self, event: LogEvent) -> model.Entry:
        if type(event) is LogUnreachable:
            asked = event.sources[0] if len(event.sources) == 1 else None
            source = self.source(str(asked.kind) if asked else "app", event.host, asked.role if asked else None,
                                 asked.accessory if asked else None)
            return model.Unreachable(source, _moment(event.at), event.reason)
        key = (event.source, event.host, event.role, event.accessory)
        source = self._by_event.get(key)
        if source is None:
            source = self._by_event[key] = self.source(str(event.source), event.host, event.role, event.accessory)
        if type(event) is LogLine:
            timestamp = event.timestamp
            moment = datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else datetime.now(UTC)
            return model.LogLine(source, moment, event.text, event.stream, event.container)
        if isinstance(event, LogLine):
            return model.LogLine(source, _moment(event.timestamp), event.text, stream=event.stream,
                                 container=event.container)  # the view reads the level as it takes the line
        if isinstance(event, LogGap):
            return model.Gap(source, _moment(event.since), _moment(event.until), container=event.container)
        assert isinstance(event, LogSwitched)
        return model.Switch(source, _moment(event.at), event.new_container, old_container=event.old_container or "")

    async def entries(self, events: AsyncIterable[LogEvent]) -> AsyncIterator[model.Entry]:
        async for event in events:
            yield self.entry(event)
