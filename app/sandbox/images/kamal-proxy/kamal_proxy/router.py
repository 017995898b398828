"""Services, their targets, routing by Host and path, and the state file.

Everything here runs on one asyncio loop: switching a service to new targets is a single assignment,
so every request picks either the old or the new targets, never neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from . import durations, health, logs
from .client import ProxyError

RUNNING, STOPPED, PAUSED = "running", "stopped", "paused"


@dataclass
class ServiceOptions:
    hosts: list[str] = field(default_factory=list)
    path_prefixes: list[str] = field(default_factory=list)
    strip_path_prefix: bool = True
    tls: bool = False
    tls_certificate_path: str = ""
    tls_private_key_path: str = ""
    tls_redirect: bool = True
    canonical_host: str = ""
    health_check_path: str = "/up"
    health_check_interval: float = 1.0
    health_check_timeout: float = 5.0
    health_check_port: int = 0
    health_check_host: str = ""
    target_timeout: float = 30.0
    buffer_requests: bool = False
    buffer_responses: bool = False
    buffer_memory: int = 1 << 20
    max_request_body: int = 0
    max_response_body: int = 0
    error_pages: str = ""
    log_request_headers: list[str] = field(default_factory=list)
    log_response_headers: list[str] = field(default_factory=list)
    forward_headers: bool = True
    read_targets: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServiceOptions:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def routes(self) -> list[tuple[str, str]]:
        """(host, path prefix) pairs this service claims; "" host is the wildcard."""
        return [(host, prefix) for host in (self.hosts or [""]) for prefix in (self.path_prefixes or ["/"])]


class Target:
    """One backend `host:port`, with the requests in flight to it and its idle keep-alive connections."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ProxyError(f"invalid target: {address} (expected host:port)")
        self.address = address
        self.host = host.strip("[]")
        self.port = int(port)
        self.inflight = 0
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._drained = asyncio.Event()
        self._drained.set()
        self.retired = False

    def begin(self) -> None:
        self.inflight += 1
        self._drained.clear()

    def end(self) -> None:
        self.inflight -= 1
        if self.inflight <= 0:
            self.inflight = 0
            self._drained.set()

    async def drain(self, timeout: float) -> bool:
        """Wait until no request is in flight (or the timeout passes); True when drained."""
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
            return True
        except TimeoutError:
            return False

    def retire(self) -> None:
        self.retired = True
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


class Service:
    def __init__(self, name: str, targets: list[Target], options: ServiceOptions) -> None:
        self.name = name
        self.targets = targets
        self.options = options
        self.state = RUNNING
        self.stop_message = ""
        self.resumed = asyncio.Event()
        self.resumed.set()
        self.pause_limit = 30.0
        self._next = 0

    def pick(self) -> Target:
        """Round-robin over the current targets; marks the pick in flight before any await."""
        targets = self.targets
        target = targets[self._next % len(targets)]
        self._next += 1
        target.begin()
        return target

    async def drain(self, timeout: float) -> None:
        await asyncio.gather(*(target.drain(timeout) for target in self.targets))

    def to_state(self) -> dict[str, Any]:
        return {"name": self.name, "targets": [t.address for t in self.targets], "state": self.state,
                "stop_message": self.stop_message, "options": asdict(self.options)}


def host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    return pattern == host


def prefix_matches(prefix: str, path: str) -> bool:
    if prefix in ("", "/"):
        return True
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def normalise_prefix(prefix: str) -> str:
    prefix = "/" + prefix.strip("/")
    return prefix


class Router:
    def __init__(self, state_path: Path | None = None) -> None:
        self.services: dict[str, Service] = {}
        self.state_path = state_path
        self._deploy_locks: dict[str, asyncio.Lock] = {}

    # --- routing -------------------------------------------------------------------------------

    def match(self, host: str, path: str) -> tuple[Service, str] | None:
        """The service for a request and the prefix it matched: exact host, then `*.` hosts, then the
        wildcard (no host); within a host the longest path prefix wins."""
        host = host.lower()
        tiers: list[list[tuple[Service, str]]] = [[], [], []]
        for service in self.services.values():
            for route_host, prefix in service.options.routes():
                if not prefix_matches(prefix, path):
                    continue
                if route_host == "":
                    tiers[2].append((service, prefix))
                elif route_host.startswith("*.") and host_matches(route_host, host):
                    tiers[1].append((service, prefix))
                elif route_host == host:
                    tiers[0].append((service, prefix))
        for tier in tiers:
            if tier:
                return max(tier, key=lambda item: len(item[1].rstrip("/")))
        return None

    def conflicts(self, name: str, options: ServiceOptions) -> bool:
        wanted = set(options.routes())
        return any(other.name != name and wanted & set(other.options.routes())
                   for other in self.services.values())

    # --- commands ------------------------------------------------------------------------------

    async def deploy(self, name: str, addresses: list[str], options: ServiceOptions, *,
                     deploy_timeout: float, drain_timeout: float, force: bool) -> None:
        if not addresses:
            raise ProxyError("a target is required")
        if options.tls and not options.hosts:
            raise ProxyError("TLS settings must specify at least one host")
        if bool(options.tls_certificate_path) != bool(options.tls_private_key_path):
            raise ProxyError("tls-certificate-path and tls-private-key-path must be set together")
        options.path_prefixes = [normalise_prefix(prefix) for prefix in options.path_prefixes]
        options.hosts = [host.lower() for host in options.hosts]
        if self.conflicts(name, options):
            raise ProxyError("host settings conflict with another service")
        if options.tls and not options.tls_certificate_path:
            logs.warn("Automatic TLS (ACME) is not available in this stand-in; serving plain HTTP", service=name)
        async with self._deploy_locks.setdefault(name, asyncio.Lock()):
            targets = [Target(address) for address in addresses]
            logs.info("Deploying", service=name, targets=addresses, hosts=options.hosts,
                      paths=options.path_prefixes, tls=options.tls)
            if not force:
                await self._wait_healthy(name, targets, options, deploy_timeout)
            if self.conflicts(name, options):  # another service may have claimed the routes meanwhile
                raise ProxyError("host settings conflict with another service")
            service = self.services.get(name)
            if service is None:
                service = Service(name, targets, options)
                self.services[name] = service
                replaced: list[Target] = []
            else:
                replaced = [t for t in service.targets if t.address not in addresses]
                kept = {t.address: t for t in service.targets if t.address in addresses}
                service.targets = [kept.get(t.address, t) for t in targets]
                service.options = options
            self.save()
            logs.info("Deployed", service=name, targets=addresses)
            await self._drain_and_retire(replaced, drain_timeout)

    async def _wait_healthy(self, name: str, targets: list[Target], options: ServiceOptions,
                            timeout: float) -> None:
        checks = [asyncio.create_task(health.wait_until_healthy(target, options, service=name))
                  for target in targets]
        try:
            await asyncio.wait_for(asyncio.gather(*checks), timeout)
        except TimeoutError:
            logs.info("Target failed to become healthy", service=name,
                      targets=[t.address for t in targets])
            raise ProxyError("target failed to become healthy within configured timeout "
                             f"({durations.format(timeout)})") from None
        finally:
            for check in checks:
                check.cancel()

    async def _drain_and_retire(self, replaced: list[Target], timeout: float) -> None:
        if not replaced:
            return
        results = await asyncio.gather(*(target.drain(timeout) for target in replaced))
        for target, drained in zip(replaced, results, strict=True):
            if not drained:
                logs.info("Drain timed out", target=target.address, inflight=target.inflight)
            target.retire()

    async def remove(self, name: str) -> None:
        service = self._get(name)
        del self.services[name]
        for target in service.targets:
            target.retire()
        service.resumed.set()
        self.save()
        logs.info("Removed", service=name)

    async def stop(self, name: str, *, drain_timeout: float, message: str) -> None:
        service = self._get(name)
        service.state = STOPPED
        service.stop_message = message
        service.resumed.set()
        self.save()
        await service.drain(drain_timeout)
        logs.info("Stopped", service=name)

    async def pause(self, name: str, *, drain_timeout: float, max_pause: float) -> None:
        service = self._get(name)
        service.state = PAUSED
        service.pause_limit = max_pause
        service.resumed.clear()
        self.save()
        await service.drain(drain_timeout)
        logs.info("Paused", service=name)

    async def resume(self, name: str) -> None:
        service = self._get(name)
        service.state = RUNNING
        service.stop_message = ""
        service.resumed.set()
        self.save()
        logs.info("Resumed", service=name)

    def list_rows(self) -> list[dict[str, str]]:
        rows = []
        for service in self.services.values():
            rows.append({
                "Service": service.name,
                "Host": ",".join(service.options.hosts) or "*",
                "Path": ",".join(service.options.path_prefixes) or "/",
                "Target": ",".join(t.address for t in service.targets),
                "State": service.state,
                "TLS": "yes" if service.options.tls else "no",
            })
        return rows

    def _get(self, name: str) -> Service:
        service = self.services.get(name)
        if service is None:
            raise ProxyError("service not found")
        return service

    # --- persistence ---------------------------------------------------------------------------

    def save(self) -> None:
        if self.state_path is None:
            return
        data = {"format": "shipdeck-kamal-proxy-standin/1",
                "services": [service.to_state() for service in self.services.values()]}
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps(data, indent=2))
        os.replace(temporary, self.state_path)

    def restore(self) -> None:
        if self.state_path is None or not self.state_path.exists():
            return
        try:
            data = json.loads(self.state_path.read_text() or "{}")
            entries = data.get("services", [])
            for entry in entries:
                service = Service(entry["name"], [Target(a) for a in entry["targets"]],
                                  ServiceOptions.from_dict(entry.get("options", {})))
                service.state = entry.get("state", RUNNING)
                service.stop_message = entry.get("stop_message", "")
                if service.state == PAUSED:  # a pause does not survive a restart
                    service.state = RUNNING
                self.services[service.name] = service
        except (ValueError, KeyError, TypeError, ProxyError) as exc:
            logs.error("Unable to restore state", path=str(self.state_path), error=str(exc))
            self.services.clear()
            with contextlib.suppress(OSError):
                self.state_path.replace(self.state_path.with_name(self.state_path.name + ".corrupt"))
            return
        logs.info("Restored state", services=len(self.services))
