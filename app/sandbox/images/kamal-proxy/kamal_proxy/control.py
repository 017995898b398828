"""Commands from the CLI to the running server: one JSON request line and one JSON answer line over a
unix socket (the real proxy uses Go net/rpc on the same socket path)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

from . import logs
from .client import ProxyError, call, socket_path  # noqa: F401 - re-exported
from .router import Router, ServiceOptions


def options_from_flags(flags: dict[str, Any]) -> ServiceOptions:
    forward = flags.get("forward-headers")
    return ServiceOptions(
        hosts=list(flags.get("host", [])),
        path_prefixes=list(flags.get("path-prefix", [])),
        strip_path_prefix=flags.get("strip-path-prefix", True),
        tls=flags.get("tls", False),
        tls_certificate_path=flags.get("tls-certificate-path", ""),
        tls_private_key_path=flags.get("tls-private-key-path", ""),
        tls_redirect=flags.get("tls-redirect", True),
        canonical_host=flags.get("canonical-host", ""),
        health_check_path=flags.get("health-check-path", "/up"),
        health_check_interval=flags.get("health-check-interval", 1.0),
        health_check_timeout=flags.get("health-check-timeout", 5.0),
        health_check_port=flags.get("health-check-port", 0),
        health_check_host=flags.get("health-check-host", ""),
        target_timeout=flags.get("target-timeout", 30.0),
        buffer_requests=flags.get("buffer-requests", False),
        buffer_responses=flags.get("buffer-responses", False),
        buffer_memory=flags.get("buffer-memory", 1 << 20),
        max_request_body=flags.get("max-request-body", 0),
        max_response_body=flags.get("max-response-body", 0),
        error_pages=flags.get("error-pages", ""),
        log_request_headers=list(flags.get("log-request-header", [])),
        log_response_headers=list(flags.get("log-response-header", [])),
        forward_headers=(not flags.get("tls", False)) if forward is None else bool(forward),
        read_targets=list(flags.get("read-target", [])),
    )


async def dispatch(router: Router, method: str, params: dict[str, Any]) -> Any:
    flags = params.get("flags", {})
    service = params.get("service", "")
    if method == "deploy":
        await router.deploy(service, list(flags.get("target", [])), options_from_flags(flags),
                            deploy_timeout=flags.get("deploy-timeout", 30.0),
                            drain_timeout=flags.get("drain-timeout", 30.0), force=flags.get("force", False))
    elif method == "remove":
        await router.remove(service)
    elif method == "stop":
        await router.stop(service, drain_timeout=flags.get("drain-timeout", 30.0), message=flags.get("message", ""))
    elif method == "pause":
        await router.pause(service, drain_timeout=flags.get("drain-timeout", 30.0),
                           max_pause=flags.get("max-pause", 30.0))
    elif method == "resume":
        await router.resume(service)
    elif method == "list":
        return router.list_rows()
    elif method == "rollout":
        raise ProxyError("rollouts are not supported by the sandbox's kamal-proxy stand-in")
    else:
        raise ProxyError(f"unknown method {method}")
    return None


class ControlServer:
    def __init__(self, router: Router, path: Path) -> None:
        self.router = router
        self.path = path
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.server = await asyncio.start_unix_server(self._handle, path=str(self.path), limit=1 << 20)
        os.chmod(self.path, 0o600)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline())
            result = await dispatch(self.router, request["method"], request.get("params", {}))
            answer: dict[str, Any] = {"ok": True, "result": result}
        except ProxyError as exc:
            answer = {"ok": False, "error": str(exc)}
        except Exception as exc:  # the CLI must get an answer, whatever happened
            logs.error("Command failed", error=repr(exc))
            answer = {"ok": False, "error": f"internal error: {exc}"}
        with contextlib.suppress(OSError):
            writer.write((json.dumps(answer) + "\n").encode())
            await writer.drain()
            writer.close()

    async def close(self) -> None:
        if self.server:
            self.server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
