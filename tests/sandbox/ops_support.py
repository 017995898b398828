"""Helpers for the build/registry/accessory/proxy/server sandbox tests.

Projects get a unique service (and image, proxy host) from `engine_support.make_project`; the ones
here also pin the web role to the last host, where the shared demo runs no kamal-proxy, so proxy
tests only ever touch that host's proxy.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from pathlib import Path

from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, make_project, shipdeck_argv

_VOLATILE_KEYS = ("IPAddress", "MacAddress", "Gateway", "HostnamePath", "Hostname", "HostsPath", "ResolvConfPath",
                  "LogPath", "EndpointID", "NetworkID", "SandboxKey", "SandboxID", "Pid", "StartedAt", "Created")


def last_host(sandbox: Sandbox) -> str:
    return sandbox.hosts[-1].address


def project_on_last_host(sandbox: Sandbox, directory: Path, *, accessories: dict | None = None,
                         extra: dict | None = None, files: dict[str, str] | None = None) -> Project:
    """A copy of the demo with only `web` on the last host (and the given accessories, no host ports,
    and extra project files)."""
    settings = {"servers": {"web": {"hosts": [last_host(sandbox)]}}, **(extra or {})}
    if accessories is not None:
        settings["accessories"] = accessories
    copy = sandbox.copy_demo(directory)
    for relative, content in (files or {}).items():
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        (copy / relative).write_text(content)
    return make_project(sandbox, copy, job=False, extra=settings)


def inspect(sandbox: Sandbox, host: str, name: str) -> dict:
    return json.loads(sandbox.run(host, f"docker inspect {name}").stdout)[0]


def normalised_inspect(sandbox: Sandbox, host: str, name: str, replace: tuple[str, ...] = ()) -> list[str]:
    """`docker inspect` with ids, times, addresses and the given names (service names) masked."""
    info = inspect(sandbox, host, name)
    # The docker CLI collects binds from a Go map, so their order differs from run to run.
    info["HostConfig"]["Binds"] = sorted(info["HostConfig"].get("Binds") or [])
    # So are the `--env` values it sends (env-file lines stay first, but their order among flags varies).
    info["Config"]["Env"] = sorted(info["Config"].get("Env") or [])
    info["Mounts"] = sorted(info.get("Mounts") or [], key=lambda mount: json.dumps(mount, sort_keys=True))
    text = json.dumps(info, sort_keys=True, indent=1)
    for word in replace:
        text = text.replace(word, "SERVICE")
    text = re.sub(r"[0-9a-f]{64}", "HEX64", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "TIME", text)
    keys = "|".join(_VOLATILE_KEYS)
    text = re.sub(rf'"({keys})": ("[^"]*"|\d+)', r'"\1": "X"', text)
    text = re.sub(r"\b[0-9a-f]{12}\b", "HEX12", text)
    return text.splitlines()


def diff(left: list[str], right: list[str]) -> str:
    return "\n".join(difflib.unified_diff(left, right, "kamal", "shipdeck", lineterm="", n=2))


def audit_lines(sandbox: Sandbox, host: str, service: str) -> list[str]:
    result = sandbox.run(host, f"cat .kamal/{service}-audit.log", check=False)
    return [re.sub(r"^(\[[^\]]+\] ){2}", "", line) for line in result.stdout.splitlines()]  # time, performer


def shipdeck_in(project: Project, *args: str, input: str | None = None, env: dict[str, str] | None = None,
                check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """shipdeck in the project, with stdin and extra environment when given."""
    result = subprocess.run(shipdeck_argv(*args), cwd=project.path, env={**project.sandbox.env(), **(env or {})},
                            input=input if input is not None else "", capture_output=True, text=True,
                            timeout=timeout, check=False)
    if check:
        assert result.returncode == 0, f"shipdeck {' '.join(args)} failed:\n{result.stdout[-6000:]}{result.stderr}"
    return result


def kamal_in(project: Project, *args: str, env: dict[str, str] | None = None,
             check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["kamal", *args], cwd=project.path, env={**project.sandbox.env(), **(env or {})},
                            capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert result.returncode == 0, f"kamal {' '.join(args)} failed:\n{result.stdout[-6000:]}{result.stderr}"
    return result
