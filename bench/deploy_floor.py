"""The floor of a zero-downtime deploy: the Docker operations alone, issued straight to each host's
engine (its socket on this machine, no SSH) on all hosts in parallel, with no shipdeck logic.

Per host: create the new app container (same image, network, env and labels as the app's, under a
name of its own), start it, wait until it answers its health check path with 2xx (the health wait:
`GET /up` from inside the host every 5 ms, through a probe process started in the host's network
namespace before timing), hand it to kamal-proxy (`kamal-proxy deploy`) under a service of its own,
and stop the old one. Each round replaces the container of the round before, so the floor never touches
the deployed app.

The health wait comes before `kamal-proxy deploy` because kamal-proxy checks a new target once at once
and then once per interval (1 s here): handed a container that does not answer yet, it waits a whole
interval, so a floor without its own health wait loses a second or not depending on how quickly the
container happened to start.

The **SSH floor** is what any remote tool pays on top: per round a fresh `python3` process that imports
its clients (asyncssh, aiohttp), opens one SSH connection per host with the host's docker socket
forwarded through it, and sends the same operations over those connections (the health wait's requests
through a TCP channel of the same connection); timed from the process's start to its exit, as a
command-line deploy is. Used by `bench/deploy_speed.py`; run alone as

    python bench/deploy_floor.py --ssh-config FILE --image IMAGE --service NAME --round N HOST...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

PROXY = "kamal-proxy"
HEALTH_PATH = "/up"
PROBE_PAUSE_S = 0.005
HEALTH_WAIT_S = 30.0

# `status = await probe(address, port, path)`: the HTTP status, None when nothing answers.
Probe = Callable[[str, int, str], Awaitable[int | None]]


class Engine:
    """Just enough of the Engine API over one host's unix socket."""

    def __init__(self, socket: Path) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(socket)))

    async def call(self, method: str, path: str, body: object = None, **params: str) -> object:
        async with self.session.request(method, f"http://docker/{path}", params=params or None,
                                        data=json.dumps(body) if body is not None else None,
                                        headers={"Content-Type": "application/json"}) as response:
            text = await response.text()
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: {response.status} {text.strip()}")
            return json.loads(text) if text.strip() else None

    async def exec(self, container: str, argv: list[str]) -> tuple[int, str]:
        created = await self.call("POST", f"containers/{container}/exec",
                                  {"Cmd": argv, "AttachStdout": True, "AttachStderr": True})
        async with self.session.post(f"http://docker/exec/{created['Id']}/start",
                                     data=json.dumps({"Detach": False, "Tty": False}),
                                     headers={"Content-Type": "application/json"}) as response:
            output = await response.read()
        details = await self.call("GET", f"exec/{created['Id']}/json")
        return int(details["ExitCode"]), output.decode(errors="replace")

    async def close(self) -> None:
        await self.session.close()


async def health_wait(engine: Engine, container_id: str, probe: Probe, port: int) -> None:
    """Until the container answers `GET /up` with 2xx, asked every PROBE_PAUSE_S."""
    details = await engine.call("GET", f"containers/{container_id}/json")
    address = details["NetworkSettings"]["Networks"]["kamal"]["IPAddress"]
    deadline = time.monotonic() + HEALTH_WAIT_S
    while not 200 <= (await probe(address, port, HEALTH_PATH) or 0) < 300:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{container_id} did not answer {HEALTH_PATH} in {HEALTH_WAIT_S:g}s")
        await asyncio.sleep(PROBE_PAUSE_S)


async def replace_on_host(socket: Path | str, probe: Probe, image: str, service: str, round_number: int,
                          app_port: int = 80) -> float:
    """One host's deploy operations, timed; returns seconds."""
    engine = Engine(Path(socket))
    name = f"{service}-floor-{round_number}"
    old = f"{service}-floor-{round_number - 1}"
    try:
        began = time.monotonic()
        created = await engine.call("POST", "containers/create", {
            "Image": image, "Env": ["BOOT_DELAY=0"],
            "Labels": {"service": f"{service}-floor"},
            "HostConfig": {"NetworkMode": "kamal", "RestartPolicy": {"Name": "unless-stopped"}},
        }, name=name)
        container_id = created["Id"][:12]
        await engine.call("POST", f"containers/{container_id}/start")
        await health_wait(engine, container_id, probe, app_port)
        code, output = await engine.exec(PROXY, [
            "kamal-proxy", "deploy", f"{service}-floor", f"--target={container_id}:{app_port}",
            f"--host={service}-floor.test", "--deploy-timeout=30s", "--drain-timeout=30s",
            "--health-check-interval=1s", f"--health-check-path={HEALTH_PATH}"])
        if code != 0:
            raise RuntimeError(f"kamal-proxy deploy failed: {output.strip()}")
        try:
            await engine.call("POST", f"containers/{old}/stop")
        except RuntimeError as error:
            if "404" not in str(error):
                raise
        elapsed = time.monotonic() - began
        with contextlib.suppress(RuntimeError):
            await engine.call("DELETE", f"containers/{old}", force="1")
        return elapsed
    finally:
        await engine.close()


# ---------------------------------------------------------------- the health wait from inside each host

def health_request(address: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n".encode()


def status_of(status_line: bytes) -> int | None:
    """The status code in an HTTP status line, None when it is not one."""
    parts = status_line.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def serve_probes(socket_path: str) -> None:
    """Run in a host's network namespace (`--probe-server PATH`): answers "ADDRESS PORT PATH" lines with the
    HTTP status of GET PATH (0 when nothing answers), one request per connection. A relay, as SSH's TCP
    channels are for shipdeck and the SSH floor."""
    import socket
    import socketserver

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            address, port, path = self.rfile.readline().decode().split()
            status = None
            try:
                with socket.create_connection((address, int(port)), timeout=1) as app:
                    app.sendall(health_request(address, path))
                    status = status_of(app.makefile("rb").readline())
            except OSError:
                pass
            self.wfile.write(f"{status or 0}\n".encode())

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    server = Server(socket_path, Handler)
    print("ready", flush=True)
    server.serve_forever()


@contextlib.asynccontextmanager
async def probes_in(netns_paths: list[Path]) -> AsyncIterator[list[Probe]]:
    """One probe process per host, in the host's network namespace; their `Probe`s, in host order."""
    directory = tempfile.TemporaryDirectory(prefix="shipdeck-floor-probe-")
    processes: list[asyncio.subprocess.Process] = []
    probes: list[Probe] = []
    try:
        for index, netns in enumerate(netns_paths):
            path = f"{directory.name}/probe-{index}.sock"
            process = await asyncio.create_subprocess_exec(
                "nsenter", f"--net={netns}", sys.executable, __file__, "--probe-server", path,
                stdout=asyncio.subprocess.PIPE)
            processes.append(process)
            assert process.stdout is not None
            if (await process.stdout.readline()).strip() != b"ready":
                raise RuntimeError(f"the probe in {netns} did not start")
            probes.append(functools.partial(_ask_probe, path))
        yield probes
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        directory.cleanup()


async def _ask_probe(socket_path: str, address: str, port: int, path: str) -> int | None:
    reader, writer = await asyncio.open_unix_connection(socket_path)
    try:
        writer.write(f"{address} {port} {path}\n".encode())
        status = int((await reader.readline()).strip() or 0)
    finally:
        writer.close()
    return status or None


async def floor_round(sockets: list[Path], probes: list[Probe], image: str, service: str, round_number: int) -> float:
    """All hosts in parallel: the wall time of the slowest."""
    began = time.monotonic()
    await asyncio.gather(*(replace_on_host(socket, probe, image, service, round_number)
                           for socket, probe in zip(sockets, probes, strict=True)))
    return time.monotonic() - began


async def remove_floor(sockets: list[Path], service: str) -> None:
    async def one(socket: Path) -> None:
        engine = Engine(socket)
        try:
            found = await engine.call("GET", "containers/json", all="1",
                                      filters=json.dumps({"label": [f"service={service}-floor"]}))
            for container in found or []:
                await engine.call("DELETE", f"containers/{container['Id']}", force="1")
            await engine.exec(PROXY, ["kamal-proxy", "remove", f"{service}-floor"])
        finally:
            await engine.close()

    await asyncio.gather(*(one(socket) for socket in sockets), return_exceptions=True)


# ---------------------------------------------------------------- the SSH floor (a fresh process per round)

REMOTE_DOCKER_SOCKET = "/var/run/docker.sock"


async def ssh_round(hosts: list[str], ssh_config: str, image: str, service: str, round_number: int) -> None:
    """Connect to every host (docker socket forwarded), then the same operations as the floor, in parallel."""
    import asyncssh

    with tempfile.TemporaryDirectory(prefix="shipdeck-floor-") as directory:
        async def on_host(index: int, host: str) -> None:
            async with asyncssh.connect(host, config=[ssh_config]) as connection:
                local = f"{directory}/docker-{index}.sock"
                listener = await connection.forward_local_path(local, REMOTE_DOCKER_SOCKET)

                async def probe(address: str, port: int, path: str) -> int | None:
                    try:
                        reader, writer = await connection.open_connection(address, port)
                    except (OSError, asyncssh.Error):
                        return None
                    try:
                        writer.write(health_request(address, path))
                        return status_of(await reader.readline())
                    finally:
                        writer.close()

                try:
                    await replace_on_host(local, probe, image, service, round_number)
                finally:
                    listener.close()

        await asyncio.gather(*(on_host(index, host) for index, host in enumerate(hosts)))


def ssh_floor_round(hosts: list[str], ssh_config: Path, image: str, service: str, round_number: int) -> float:
    """One round of the SSH floor in a fresh process (see the module's docstring): its wall time."""
    began = time.monotonic()
    subprocess.run([sys.executable, __file__, "--ssh-config", str(ssh_config), "--image", image,
                    "--service", service, "--round", str(round_number), *hosts], check=True)
    return time.monotonic() - began


def main() -> int:
    parser = argparse.ArgumentParser(description="one round of the SSH floor")
    parser.add_argument("--ssh-config", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--round", type=int, required=True)
    parser.add_argument("hosts", nargs="+")
    args = parser.parse_args()
    asyncio.run(ssh_round(args.hosts, args.ssh_config, args.image, args.service, args.round))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe-server"]:
        serve_probes(sys.argv[2])
    sys.exit(main())
