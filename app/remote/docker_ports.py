"""`--publish`/`-p` and `--expose` specs → ExposedPorts and PortBindings, as the docker CLI builds them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from app.remote.docker_errors import NotTranslatable

_PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass
class Ports:
    exposed: dict[str, dict] = field(default_factory=dict)
    bindings: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def publish(self, spec: str) -> None:
        """`[ip:][host_port[-end]:]container_port[-end][/proto]`; IPv6 addresses in brackets."""
        if "=" in spec:
            raise NotTranslatable("the long `--publish published=...,target=...` syntax")
        for port, host_ip, host_port in _port_mappings(spec):
            self.exposed.setdefault(port, {})
            self.bindings.setdefault(port, []).append({"HostIp": host_ip, "HostPort": host_port})

    def expose(self, spec: str) -> None:
        """`port[-end][/proto]` → ExposedPorts only."""
        if ":" in spec:
            raise ValueError(f"invalid port format for --expose: {spec}")
        protocol, port = _split_protocol(spec)
        try:
            start, end = _port_range(port)
        except ValueError as error:
            raise ValueError(f"invalid range format for --expose: {spec}, error: {error}") from None
        for number in range(start, end + 1):
            self.exposed.setdefault(f"{number}/{protocol}", {})


def _port_mappings(spec: str) -> list[tuple[str, str, str]]:
    host_ip, host_port, container_port = _split_parts(spec)
    protocol, container_port = _split_protocol(container_port)
    if host_ip.startswith("["):
        if not host_ip.endswith("]"):
            raise ValueError(f"invalid IP address {host_ip}")
        host_ip = host_ip[1:-1]
    if host_ip:
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise ValueError(f"invalid IP address: {host_ip}") from None
    if not container_port:
        raise ValueError(f"no port specified: {spec}<empty>")
    try:
        start, end = _port_range(container_port)
    except ValueError:
        raise ValueError(f"invalid containerPort: {container_port}") from None
    host_start = host_end = 0
    if host_port:
        try:
            host_start, host_end = _port_range(host_port)
        except ValueError:
            raise ValueError(f"invalid hostPort: {host_port}") from None
        if end - start != host_end - host_start and end != start:
            raise ValueError(
                f"invalid ranges specified for container and host Ports: {container_port} and {host_port}")
    if protocol.lower() not in _PROTOCOLS:
        raise ValueError(f"invalid proto: {protocol}")
    mappings = []
    for offset in range(end - start + 1):
        bound = str(host_start + offset) if host_port else ""
        if start == end and host_start != host_end:
            bound = f"{bound}-{host_end}"
        mappings.append((f"{start + offset}/{protocol.lower()}", host_ip, bound))
    return mappings


def _split_parts(spec: str) -> tuple[str, str, str]:
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _split_protocol(port: str) -> tuple[str, str]:
    parts = port.split("/")
    if not parts[0]:
        return "", ""
    if len(parts) == 1 or not parts[1]:
        return "tcp", parts[0]
    return parts[1], parts[0]


def _port_range(text: str) -> tuple[int, int]:
    first, separator, last = text.partition("-")
    start = _port_number(first)
    end = _port_number(last) if separator else start
    if end < start:
        raise ValueError(f"invalid range specified for port: {text}")
    return start, end


def _port_number(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    return int(text)
