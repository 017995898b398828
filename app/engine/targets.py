"""Which hosts and roles a command acts on: Kamal's `-h`, `-r` and `-p` filters (Commander::Specifics)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from typing import TypeVar

from app.config.model import Config, Role
from app.errors import UsageError

T = TypeVar("T")


def _glob(pattern: str, name: str) -> bool:
    """File.fnmatch with FNM_EXTGLOB: `*`, `?`, `[...]` and `{a,b}` braces."""
    if "{" in pattern and "}" in pattern:
        head, _, rest = pattern.partition("{")
        options, _, tail = rest.partition("}")
        return any(_glob(head + option + tail, name) for option in options.split(","))
    return fnmatch.fnmatchcase(name, pattern)


def filter_specific(patterns: Sequence[str], items: Iterable[T], name=str) -> list[T]:
    """Items matching any pattern, in pattern order then item order, without repeats."""
    items = list(items)
    matches: list[T] = []
    for pattern in patterns:
        for item in items:
            if _glob(pattern, name(item)) and item not in matches:
                matches.append(item)
    return matches


def _stable_sort(elements: list[T], key) -> list[T]:
    return [element for _, element in sorted(enumerate(elements), key=lambda pair: (key(pair[1]), pair[0]))]


class Targets:
    def __init__(self, config: Config, hosts: Sequence[str] = (), roles: Sequence[str] = (),
                 primary: bool = False) -> None:
        self.config = config
        specific_roles = None
        if roles:
            specific_roles = filter_specific(roles, config.roles, name=lambda role: role.name)
            if not specific_roles:
                raise UsageError(f"No --roles match for {','.join(roles)}")
        specific_hosts = None
        if hosts:
            specific_hosts = filter_specific(hosts, config.all_hosts)
            if not specific_hosts:
                raise UsageError(f"No --hosts match for {','.join(hosts)}")
        if primary:
            if specific_roles:
                first = self._primary_or_first(specific_roles)
                specific_hosts = [first.primary_host] if first and first.primary_host else []
            else:
                specific_hosts = [config.primary_host] if config.primary_host else []
        self.specific_hosts = specific_hosts
        self.specific_roles = specific_roles

        self.roles: list[Role] = [
            role for role in (specific_roles or list(config.roles))
            if set(specific_hosts or config.all_hosts) & set(role.hosts)
        ]
        self.hosts: list[str] = self._specified_hosts()
        primary_specific = self._primary_or_first(specific_roles) if specific_roles else None
        self.primary_host: str | None = (
            (specific_hosts[0] if specific_hosts else None)
            or (primary_specific.primary_host if primary_specific else None)
            or config.primary_host
        )
        self.primary_role: Role | None = self._primary_or_first(self.roles_on(self.primary_host))
        self.roles = _stable_sort(self.roles, lambda role: 0 if role == self.primary_role else 1)
        self.hosts = self._primary_role_hosts_first(self.hosts)

    def _primary_or_first(self, roles: Sequence[Role]) -> Role | None:
        for role in roles:
            if role.name == self.config.primary_role:
                return role
        return roles[0] if roles else None

    def _specified_hosts(self) -> list[str]:
        hosts = list(self.specific_hosts or self.config.all_hosts)
        if self.specific_roles:
            role_hosts = {host for role in self.specific_roles for host in role.hosts}
            hosts = [host for host in hosts if host in role_hosts]
        return hosts

    def _primary_role_hosts_first(self, hosts: list[str]) -> list[str]:
        def key(host: str) -> int:
            return 0 if any(role == self.primary_role for role in self.roles_on(host)) else 1

        return _stable_sort(hosts, key)

    def roles_on(self, host: str | None) -> list[Role]:
        return [role for role in self.roles if host is not None and host in role.hosts]

    @property
    def app_hosts(self) -> list[str]:
        return self._primary_role_hosts_first([h for h in self.config.app_hosts if h in self.hosts])

    @property
    def proxy_hosts(self) -> list[str]:
        return [host for host in self.config.proxy_hosts if host in self.hosts]

    @property
    def accessory_hosts(self) -> list[str]:
        return [host for accessory in self.config.accessories for host in accessory.hosts if host in self.hosts]
