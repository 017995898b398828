"""`Fleet.logs()`: the log lines of app, accessory and proxy containers across hosts, typed and masked.

Without `follow`: the selected containers' lines (`tail`, `since`), merged by timestamp. With
`follow`: every running container of each source is read as its lines come; when a deploy (or a
reboot) starts a new container for a source, a `LogSwitched` marks it and the new container is read
from its first line (the old one is read until it stops). A stream that drops while its container
still runs (a lost connection) is resumed after the host is back, from the last line seen, behind a
`LogGap` marker. A host whose containers cannot even be listed (it refuses connections, say) is reported
with a `LogUnreachable` before any line of the others; following, it is read once it is back. `grep` is a
regular expression on the text.

Lines are read in bulk (a batch per read of the docker socket) and queued a batch at a time; the stream hands
them on one by one.
"""

from __future__ import annotations

import asyncio
import calendar
import collections
import contextlib
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app import contract
from app.engine import api
from app.engine.status import accessory_name, app_identity, parse_time
from app.errors import UsageError
from app.remote import app_docker
from app.remote.docker_errors import DockerCommandError
from app.remote.docker_log_channel import StreamRun
from app.remote.docker_streams import since_parameter
from app.remote.host import UP

if TYPE_CHECKING:
    from app.engine.fleet import Fleet

RESUME_POLL = 0.2  # seconds between checks that a dropped host is back
QUEUE_LINES = 8192  # lines read ahead of the consumer; beyond it, reading waits (Docker keeps the rest)


@dataclass(frozen=True)
class Target:
    """One container a source selects."""

    source: api.LogSourceKind
    host: str
    container: str
    id: str
    role: str | None = None
    accessory: str | None = None
    version: str | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        """What a replacement container has in common with this one (same source on the same host)."""
        return (self.source, self.host, self.role, self.accessory)


@dataclass
class Cursor:
    """Where reading a container got to: the last timestamp and the lines seen at exactly that time."""

    last: float | None = None
    at_last: set[str] = field(default_factory=set)

    def fresh(self, timestamp: float | None, text: str) -> bool:
        if timestamp is None or self.last is None or timestamp > self.last:
            if timestamp is not None:
                self.last, self.at_last = timestamp, {text}
            return True
        if timestamp == self.last and text not in self.at_last:
            self.at_last.add(text)
            return True
        return False


_whole_seconds: dict[str, int] = {}  # `2024-05-01T10:00:00` -> Unix time: a stream's lines share few seconds


def docker_time(stamp: str) -> float | None:
    """Docker's `--timestamps` form (`2024-05-01T10:00:00.123456789Z`) → Unix time, without a regular expression
    for every line; any other RFC 3339 form goes to `parse_time`."""
    if len(stamp) >= 20 and stamp[-1] == "Z" and stamp[10] == "T" and (len(stamp) == 20 or stamp[19] == "."):
        base, fraction = stamp[:19], stamp[19:-1]
        seconds = _whole_seconds.get(base)
        if seconds is None:
            try:
                seconds = calendar.timegm(datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").timetuple())
            except ValueError:
                return parse_time(stamp)
            if len(_whole_seconds) > 4096:
                _whole_seconds.clear()
            _whole_seconds[base] = seconds
        if not fraction:
            return float(seconds)
        if fraction[1:].isdigit():
            return seconds + float(fraction)
    return parse_time(stamp)


def split_timestamp(text: str) -> tuple[float | None, str]:
    """`2024-05-01T10:00:00.123456789Z hello` → (Unix time, "hello")."""
    end = text.find(" ")
    if 20 <= end <= 30 and text[end - 1] == "Z":  # Docker's form, in a second already seen: the common case
        seconds = _whole_seconds.get(text[:19])
        if seconds is not None:
            if end == 20:
                return float(seconds), text[21:]
            fraction = text[19:end - 1]
            if fraction[0] == "." and fraction[1:].isdigit():
                return seconds + float(fraction), text[end + 1:]
    stamp, separator, rest = text.partition(" ")
    moment = docker_time(stamp) if separator and stamp[:4].isdigit() and "T" in stamp else None
    return (moment, rest) if moment is not None else (None, text)


def matches(source: api.LogSource, target: Target) -> bool:
    if source.kind is not target.source or (source.host and source.host != target.host):
        return False
    if source.kind is api.LogSourceKind.APP:
        return source.role is None or source.role == target.role
    if source.kind is api.LogSourceKind.ACCESSORY:
        return source.accessory == target.accessory
    return True


def target_of(fleet: Fleet, host: str, summary: dict[str, Any], services: list[str]) -> Target | None:
    """The container as a log target (None if it is no app, accessory or proxy container)."""
    name = app_docker.container_name(summary)
    labels = summary.get("Labels") or {}
    container_id = str(summary["Id"])[:12]
    if name == contract.PROXY_CONTAINER:
        return Target(api.LogSourceKind.PROXY, host, name, container_id)
    identity = app_identity(name, labels, fleet.service, fleet.destination)
    if identity is not None:
        return Target(api.LogSourceKind.APP, host, name, container_id, role=identity.role, version=identity.version)
    configured = {accessory.service_name: accessory.name for accessory in fleet.config.accessories} \
        if fleet.config is not None else None
    short = accessory_name(name, labels, services, configured)
    if short is not None:
        return Target(api.LogSourceKind.ACCESSORY, host, name, container_id, accessory=short)
    return None


def check_sources(fleet: Fleet, sources: Sequence[api.LogSource]) -> None:
    config = fleet.config
    for source in sources:
        if source.host and source.host not in fleet.hosts:
            raise UsageError(f"no host {source.host!r} in this fleet ({', '.join(fleet.hosts)})")
        if config is None:
            continue
        if source.kind is api.LogSourceKind.APP and source.role and config.role(source.role) is None:
            raise UsageError(f"no role {source.role!r} in {config.service}'s config")
        if source.kind is api.LogSourceKind.ACCESSORY and config.accessory(source.accessory or "") is None:
            raise UsageError(f"no accessory {source.accessory!r} in {config.service}'s config")


def concerned_hosts(fleet: Fleet, sources: Sequence[api.LogSource]) -> list[str]:
    return [host for host in fleet.hosts if any(source.host in (None, host) for source in sources)]


def failure_reason(host: str, error: Exception) -> str:
    """The error's words without the host name a RemoteError puts in front (the event names the host)."""
    text = str(error) or type(error).__name__
    return text.removeprefix(f"{host}: ")


async def find_targets(fleet: Fleet, sources: Sequence[api.LogSource], hosts: Sequence[str] | None = None,
                       ) -> tuple[list[Target], list[api.LogUnreachable]]:
    """The running containers the sources select, on every host concerned (listed concurrently), and a
    `LogUnreachable` for each host whose containers could not be listed."""
    hosts = concerned_hosts(fleet, sources) if hosts is None else list(hosts)
    failures: list[api.LogUnreachable] = []

    async def on_host(host: str) -> list[Target]:
        try:
            summaries = await app_docker.list_containers(fleet.pool[host], ["status=running"])
        except Exception as error:
            failures.append(api.LogUnreachable(host=host, reason=failure_reason(host, error), at=time.time(),
                                               sources=tuple(s for s in sources if s.host in (None, host))))
            return []
        services = sorted({(summary.get("Labels") or {}).get("service", "") for summary in summaries
                           if (summary.get("Labels") or {}).get("role")})
        found = [target_of(fleet, host, summary, services) for summary in summaries]
        return [target for target in found if target is not None and any(matches(s, target) for s in sources)]

    listed = await asyncio.gather(*(on_host(host) for host in hosts))
    targets = sorted((target for targets in listed for target in targets),
                     key=lambda target: (target.host, target.source, target.role or target.accessory or "",
                                         target.container))
    return targets, sorted(failures, key=lambda failure: hosts.index(failure.host))


class EventQueue:
    """Events read ahead of the consumer, in batches (a read's worth of lines, or one marker), bounded by the
    number of events: a reader that would go beyond `limit` waits until the consumer has taken some."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0  # events queued
        self._batches: collections.deque[list[api.LogEvent]] = collections.deque()
        self._readable = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def qsize(self) -> int:
        return self.size

    async def put(self, batch: list[api.LogEvent]) -> None:
        while self.size >= self.limit:
            self._room.clear()
            await self._room.wait()
        self._batches.append(batch)
        self.size += len(batch)
        self._readable.set()

    async def get_batch(self) -> list[api.LogEvent]:
        while not self._batches:
            self._readable.clear()
            await self._readable.wait()
        batch = self._batches.popleft()
        self.size -= len(batch)
        if self.size < self.limit:
            self._room.set()
        return batch


class LogStream:
    """The merged, followed stream of one `logs()` call."""

    def __init__(self, fleet: Fleet, sources: Sequence[api.LogSource], *, since: str | None, tail: int | None,
                 grep: str | None) -> None:
        self.fleet = fleet
        self.sources = tuple(sources)
        self.since = since
        self.tail = tail
        self.pattern = re.compile(grep) if grep else None
        # bounded: a consumer slower than the containers holds the readers back instead of the queue growing
        self.queue = EventQueue(QUEUE_LINES)
        self.readers: dict[str, asyncio.Task[None]] = {}  # container id -> reader
        self.latest: dict[tuple[Any, ...], Target] = {}  # the newest container per source and host
        self.unreachable: set[str] = set()  # hosts reported unreachable, read once they are back

    def batch(self, target: Target, runs: list[StreamRun], cursor: Cursor | None = None) -> list[api.LogEvent]:
        """A read's lines as the API's type (masked; those `grep` leaves out and, with a `cursor`, those seen
        before a resume left out)."""
        found: list[api.LogEvent] = []
        pattern = self.pattern
        for stream, texts in runs:
            stream = "stderr" if stream == "stderr" else "stdout"
            for raw in texts:
                timestamp, text = split_timestamp(raw)
                if cursor is not None and not cursor.fresh(timestamp, text):
                    continue
                line = api.LogLine(source=target.source, host=target.host, container=target.container, text=text,
                                   stream=stream, timestamp=timestamp, role=target.role, accessory=target.accessory)
                if pattern is None or pattern.search(line.text):  # the masked text: no probing for a secret
                    found.append(line)
        return found

    async def collect(self, target: Target) -> list[api.LogEvent]:
        """Non-follow: a container's selected lines."""
        lines: list[api.LogEvent] = []
        with contextlib.suppress(Exception):
            async for runs in app_docker.stream_log_batches(self.fleet.pool[target.host], target.id, tail=self.tail,
                                                            since=self.since, follow=False):
                lines.extend(self.batch(target, runs))
        return lines

    async def follow(self, target: Target, *, from_start: bool, switched: api.LogSwitched | None = None) -> None:
        """Read a container until it stops (behind `switched`, when it replaced one); resume after a dropped
        connection behind a LogGap."""
        if switched is not None:
            await self.queue.put([switched])
        cursor = Cursor()
        tail: int | None = None if from_start else self.tail
        since: str | None = None if from_start else self.since
        remote = self.fleet.pool[target.host]
        while True:
            async def pump(tail: int | None = tail, since: str | None = since) -> None:
                async for runs in app_docker.stream_log_batches(remote, target.id, tail=tail, since=since,
                                                                follow=True):
                    found = self.batch(target, runs, cursor)
                    if found:
                        await self.queue.put(found)  # waits while the consumer is behind

            try:
                await remote.unless_lost(pump())
            except asyncio.CancelledError:
                raise
            except Exception as error:
                reason = str(error)
            else:
                reason = ""
                if await self._stopped(target):
                    return  # the container stopped: its stream is complete
                reason = "the log stream ended while the container still runs"
            dropped = time.time()
            await self._until_up(remote)
            if await self._stopped(target):
                await self.queue.put([api.LogGap(source=target.source, host=target.host,
                                                  container=target.container, reason=reason or "connection lost",
                                                  since=dropped, until=None, role=target.role,
                                                  accessory=target.accessory)])
                return
            resumed = time.time()
            await self.queue.put([api.LogGap(source=target.source, host=target.host, container=target.container,
                                              reason=reason or "connection lost", since=dropped, until=resumed,
                                              role=target.role, accessory=target.accessory)])
            tail = None
            since = f"{cursor.last:.9f}" if cursor.last is not None else f"{dropped:.9f}"

    async def _stopped(self, target: Target) -> bool:
        try:
            details = await app_docker.inspect_container(self.fleet.pool[target.host], target.id)
        except Exception as error:
            return "No such container" in str(error)
        return not (details.get("State") or {}).get("Running")

    async def _until_up(self, remote) -> None:
        while remote.state != UP:
            if self.fleet.closed:
                raise asyncio.CancelledError  # nothing will reconnect: this reader is done
            await asyncio.sleep(RESUME_POLL)
        with contextlib.suppress(Exception):
            await remote.docker()

    def start_reader(self, target: Target, *, from_start: bool) -> None:
        if target.id in self.readers and not self.readers[target.id].done():
            return
        previous = self.latest.get(target.key)
        switched = None
        if previous is not None and previous.id != target.id:
            switched = api.LogSwitched(source=target.source, host=target.host, old_container=previous.container,
                                       new_container=target.container, at=time.time(), role=target.role,
                                       accessory=target.accessory, version=target.version)
        self.latest[target.key] = target
        self.readers[target.id] = asyncio.ensure_future(self.follow(target, from_start=from_start,
                                                                    switched=switched))

    async def watch_for_new(self, changes: AsyncIterator[api.FleetChange]) -> None:
        async for change in changes:
            if isinstance(change, api.HostUp) and change.host in self.unreachable:
                self.unreachable.discard(change.host)
                await self.start_host(change.host)
                continue
            if not isinstance(change, api.ContainerStarted):
                continue
            kind = {api.ContainerKind.APP: api.LogSourceKind.APP, api.ContainerKind.ACCESSORY:
                    api.LogSourceKind.ACCESSORY, api.ContainerKind.PROXY: api.LogSourceKind.PROXY}.get(change.kind)
            if kind is None:
                continue
            target = Target(kind, change.host, change.container, change.id, role=change.role,
                            accessory=change.accessory, version=change.version)
            if any(matches(source, target) for source in self.sources):
                self.start_reader(target, from_start=True)

    async def start_host(self, host: str) -> None:
        """Read a host that could not be reached before (reported then) now that it is back."""
        targets, failures = await find_targets(self.fleet, self.sources, [host])
        for failure in failures:
            self.unreachable.add(failure.host)  # still not readable: tried again at its next HostUp
        for target in targets:
            self.start_reader(target, from_start=False)

    async def close(self) -> None:
        for task in self.readers.values():
            task.cancel()
        for task in self.readers.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def check_options(*, since: str | None, tail: int | None, grep: str | None) -> None:
    """Refuse a bad `since`, `tail` or `grep` before anything is read, naming the value."""
    if tail is not None and tail < 0:
        raise UsageError(f"tail must be 0 or more lines, got {tail}")
    if since:
        try:
            since_parameter(since)
        except DockerCommandError:
            raise UsageError(f"since {since!r} is neither a duration (30s, 5m, 1h) nor a time "
                             "(2026-05-01T10:00:00Z, Unix seconds)") from None
    if grep:
        try:
            re.compile(grep)
        except re.error as error:
            raise UsageError(f"grep {grep!r} is not a regular expression: {error}") from None


def resolve_secrets(fleet: Fleet) -> None:
    """Look up every secret the project names, so that each value is known to the mask before the first line
    is read (a container logs the secrets it was given; nothing else in a logs call would resolve them)."""
    if fleet.config is None or fleet.secrets is None:
        return
    from app.engine.auto import secret_references

    lookup = getattr(fleet.secrets, "lookup", None)
    for name in secret_references(fleet.config) if lookup is not None else ():
        lookup(name)


async def stream_logs(fleet: Fleet, sources: Sequence[api.LogSource], *, since: str | None, tail: int | None,
                      follow: bool, grep: str | None) -> AsyncIterator[api.LogEvent]:
    check_options(since=since, tail=tail, grep=grep)
    check_sources(fleet, sources)
    await asyncio.to_thread(resolve_secrets, fleet)
    stream = LogStream(fleet, sources, since=since, tail=tail, grep=grep)
    if not follow:
        targets, failures = await find_targets(fleet, sources)
        for failure in failures:
            yield failure
        collected = await asyncio.gather(*(stream.collect(target) for target in targets))
        lines = [line for lines in collected for line in lines]
        for line in sorted(lines, key=lambda line: line.timestamp or 0.0):
            yield line
        return
    hosts = concerned_hosts(fleet, sources)
    changes = fleet.watch()
    watcher = asyncio.ensure_future(stream.watch_for_new(changes))
    try:
        await fleet.watch_ready(hosts)
        targets, failures = await find_targets(fleet, sources)
        for failure in failures:
            stream.unreachable.add(failure.host)
            yield failure
        for target in targets:
            stream.start_reader(target, from_start=False)
        while True:
            for event in await stream.queue.get_batch():
                yield event
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
        with contextlib.suppress(Exception):
            await changes.aclose()  # type: ignore[attr-defined]
        await stream.close()
