"""Recogniser 2: a registry that speaks plain HTTP to an engine that expects HTTPS.

Docker engines talk HTTPS to every registry except loopback ones and those listed in the engine's
`insecure-registries`. Which engine failed decides the fix: the hosts' dockerd (daemon.json, or the
registry's CA in /etc/docker/certs.d), a docker-in-docker service in CI (`--insecure-registry`), or for a
local `buildx` build the BuildKit builder, which ignores the daemon's list (Kamal issue #937).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.config.model import Config
from app.diagnose.findings import LOCAL, Finding

PLAIN_HTTP = "server gave HTTP response to HTTPS client"
_URL_HOST = re.compile(r"https://(?P<address>[^/\"'\s]+)")
REGISTRY_OPERATIONS = ("build", "push", "pull", "login")
KAMAL_LOCAL_BUILDER = "kamal-local-docker-container"


def _address(error_text: str, config: Config) -> str | None:
    found = _URL_HOST.search(error_text)
    return found["address"] if found else config.registry.server


def _daemon_json_fix(address: str, where: str) -> str:
    return (f"On {where}: either serve the registry over TLS and put its CA certificate in "
            f"/etc/docker/certs.d/{address}/ca.crt (read on every pull, no restart), or add "
            f'"insecure-registries": ["{address}"] to /etc/docker/daemon.json and restart dockerd '
            "(that restarts every container on the host unless daemon.json also has \"live-restore\": true).")


def _local_engine(config: Config, environ: Mapping[str, str], buildkit: bool) -> tuple[str, str]:
    """(which engine, what to set where) for a failure on the operator's or the CI job's machine."""
    docker_host = environ.get("DOCKER_HOST", "")
    if buildkit and config.builder.driver != "docker":
        return ("the local BuildKit builder (buildx)",
                "buildx pushes from its own BuildKit container, which ignores the daemon's insecure-registries. "
                "Serve the registry over TLS; or use the classic builder (builder: driver: docker, one local "
                "architecture, no cache export); or create the builder Kamal would use yourself, with a "
                "buildkitd.toml holding [registry.\"ADDRESS\"] http = true: docker buildx create --name "
                f"{KAMAL_LOCAL_BUILDER} --driver docker-container --buildkitd-config buildkitd.toml "
                "(--config with buildx older than 0.13).")
    if docker_host.startswith("tcp://"):
        return (f"the docker-in-docker engine at {docker_host}",
                'pass the flag to the dind service: services: [{name: "docker:dind", command: '
                '["--insecure-registry=ADDRESS"]}] in .gitlab-ci.yml, or serve the registry over TLS.')
    return "the local docker engine", _daemon_json_fix("ADDRESS", "this machine")


def recognise_plain_http_registry(error_text: str, *, config: Config, engine: str = LOCAL, during: str = "pull",
                                  buildkit: bool = False, environ: Mapping[str, str] | None = None) -> Finding | None:
    """`engine` is where the failing command ran (`LOCAL`, or a host); `during` is the registry operation
    (build, push, pull, login); `buildkit` says that a `docker buildx` builder pushed (shipdeck's own builds push
    through the Engine API, so the daemon's settings apply). Other operations are not considered:
    kamal-proxy's health check reports the same Go error when an app redirects it to https (see `healthcheck`)."""
    if during not in REGISTRY_OPERATIONS:
        raise ValueError(f"during must be one of {', '.join(REGISTRY_OPERATIONS)}")
    if PLAIN_HTTP not in error_text:
        return None
    address = _address(error_text, config) or "the registry"
    if engine == LOCAL:
        which, fix = _local_engine(config, environ or {}, buildkit and during in ("build", "push"))
        fix = fix.replace("ADDRESS", address)
        host = None
    else:
        which, fix, host = f"dockerd on {engine}", _daemon_json_fix(address, engine), engine
    return Finding(
        code="registry.plain_http", title=f"{address} speaks plain HTTP; {which} expects HTTPS",
        what=f"The {during} from {address} failed in {which}: {PLAIN_HTTP}.",
        why=f"{which[0].upper() + which[1:]} uses HTTPS for every registry that is not on loopback and not "
            f"listed as insecure for it; {address} answers in plain HTTP.",
        fix=fix, host=host, target=address, evidence=tuple(line for line in error_text.splitlines()
                                                            if PLAIN_HTTP in line)[-2:])
