"""RemoteHost against a real sshd and the machine's real Docker engine."""

from __future__ import annotations

import stat
import uuid

import pytest

from app.remote.errors import AuthenticationFailed, DockerUnavailable, HostKeyChanged, HostKeyUnknown, HostUnreachable
from app.remote.host import RemoteHost
from app.remote.ssh import SSHTarget


def _target(sshd, **overrides) -> SSHTarget:
    settings = dict(host="127.0.0.1", port=sshd.port, keys=(str(sshd.client_key),), keys_only=True,
                    config=False, known_hosts=(str(sshd.known_hosts),))
    settings.update(overrides)
    return SSHTarget(**settings)


async def test_one_connection_serves_commands_files_and_docker(loopback_sshd) -> None:
    host = RemoteHost(_target(loopback_sshd))
    folder = f".shipdeck-test-{uuid.uuid4().hex[:8]}"
    try:
        result = await host.run("echo $HOME; pwd")
        assert result.stdout.split() == ["/root", "/root"]
        await host.write_file(f"{folder}/env/web.env", b"SECRET=x\n", mode=0o600)
        listing = await host.run(f"stat -c '%a %s' {folder}/env/web.env")
        assert listing.stdout.strip() == "600 9"
        await host.append_lines(f"{folder}/audit.log", ["one"])
        await host.append_lines(f"{folder}/audit.log", ["two"])
        assert await host.read_file(f"{folder}/audit.log") == b"one\ntwo\n"
        operations = host.stats.file_operations
        assert await host.home() == "/root"
        assert await host.home() == "/root"
        assert host.stats.file_operations == operations + 1, "the home is asked once per SFTP session"
        assert await host.mkdir_exclusive(f"{folder}/lock") is True
        assert await host.mkdir_exclusive(f"{folder}/lock") is False
        docker = await host.docker()
        version = await docker.version()
        assert version["ApiVersion"]
        sftp = await host.sftp()
        mode = (await sftp.stat(f"{folder}/env/web.env")).permissions
        assert stat.S_IMODE(mode) == 0o600
        assert host.stats.connections == 1
        assert host.stats.docker_requests >= 1
    finally:
        await host.run(f"rm -rf {folder}", check=False)
        await host.close()


async def test_a_rewritten_file_gets_the_mode_asked_and_a_directory_goes_with_its_files(loopback_sshd) -> None:
    host = RemoteHost(_target(loopback_sshd))
    folder = f".shipdeck-test-{uuid.uuid4().hex[:8]}"
    try:
        await host.run(f"mkdir -p {folder} && echo old > {folder}/env && chmod 644 {folder}/env")
        await host.write_file(f"{folder}/env", b"SECRET=y\n", mode=0o600)
        assert (await host.run(f"stat -c '%a' {folder}/env; cat {folder}/env")).stdout.split() == ["600", "SECRET=y"]
        await host.write_file(f"{folder}/lock/details", b"held\n")
        assert await host.remove_directory(f"{folder}/lock", [f"{folder}/lock/details", f"{folder}/lock/none"])
        assert (await host.run(f"ls -A {folder}")).stdout.split() == ["env"]
        assert await host.remove_directory(f"{folder}/lock", [f"{folder}/lock/details"]) is False
    finally:
        await host.run(f"rm -rf {folder}", check=False)
        await host.close()


async def test_plain_engine_requests_ride_keep_alive_channels_and_keep_the_clis_errors(loopback_sshd) -> None:
    """`engine_api.call` on a remote host's Docker goes over SSH channels to the socket (not the forwarded
    socket): answers as the engine gives them, its errors in the CLI's words, concurrent requests on
    channels of their own, kept open for the next ones."""
    import asyncio
    import subprocess

    from app.remote.docker_errors import DockerCommandError
    from app.remote.engine_api import call
    from app.remote.engine_channels import ChannelDocker

    host = RemoteHost(_target(loopback_sshd))
    try:
        docker = await host.docker()
        assert isinstance(docker, ChannelDocker)
        before = host.stats.docker_requests
        listings = await asyncio.gather(*(call(docker, "GET", "containers/json", params={"all": "1"})
                                          for _ in range(12)))
        expected = subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True, text=True,
                                  check=True).stdout.split()
        assert all(sorted(item["Id"] for item in listing) == sorted(expected) for listing in listings)
        assert host.stats.docker_requests == before + 12
        assert 1 <= docker.channels.idle <= 8
        idle = docker.channels.idle
        for _ in range(5):
            assert (await call(docker, "GET", "version"))["ApiVersion"]
        assert docker.channels.idle == idle, "sequential requests reuse an open channel"
        with pytest.raises(DockerCommandError, match=r"^Error response from daemon: No such container: nope-x$"):
            await call(docker, "GET", "containers/nope-x/json")
        created = await call(docker, "POST", "networks/create", body={"Name": f"sd-test-{uuid.uuid4().hex[:8]}"})
        await call(docker, "DELETE", f"networks/{created['Id']}")
    finally:
        await host.close()


async def test_queued_lines_land_in_order_and_settle_waits_for_them(loopback_sshd) -> None:
    """`append_line_soon` returns at once; one writer appends in queue order, lines queued meanwhile for the
    same file in one write, and `settle()` returns when all are on the server."""
    host = RemoteHost(_target(loopback_sshd))
    folder = f".shipdeck-test-{uuid.uuid4().hex[:8]}"
    try:
        await host.run(f"mkdir -p {folder}/a")
        operations = host.stats.file_operations
        for number in range(5):
            host.append_line_soon(f"{folder}/a/audit.log", f"line {number}")
        host.append_line_soon(f"{folder}/b.log", "other file")
        host.append_line_soon(f"{folder}/a/audit.log", "line 5")
        assert host.stats.file_operations == operations  # nothing waited for yet
        await host.settle()
        assert await host.read_file(f"{folder}/a/audit.log") == b"".join(b"line %d\n" % n for n in range(6))
        assert await host.read_file(f"{folder}/b.log") == b"other file\n"
        # 7 lines in 3 runs of one file: the SFTP session, a look at each of the 2 folders and 3 appends
        # (10 unbatched)
        writes = host.stats.file_operations - operations - 2  # less the two reads
        assert writes == 6, f"{writes} file operations for 7 lines in 3 runs"
    finally:
        await host.run(f"rm -rf {folder}", check=False)
        await host.close()


async def test_a_failed_queued_append_is_raised_by_settle_and_close_still_writes(loopback_sshd) -> None:
    host = RemoteHost(_target(loopback_sshd))
    folder = f".shipdeck-test-{uuid.uuid4().hex[:8]}"
    try:
        await host.run(f"mkdir -p {folder} && touch {folder}/file")
        host.append_line_soon(f"{folder}/file/audit.log", "cannot land: its folder is a file")
        with pytest.raises(Exception) as raised:
            await host.settle()
        assert str(raised.value).startswith("127.0.0.1: appending to ")
        await host.settle()  # reported once
        host.append_line_soon(f"{folder}/later.log", "written by close")
        await host.close()
        host = RemoteHost(_target(loopback_sshd))
        assert await host.read_file(f"{folder}/later.log") == b"written by close\n"
    finally:
        await host.run(f"rm -rf {folder}", check=False)
        await host.close()


async def test_failed_command_names_host_command_and_output(loopback_sshd) -> None:
    host = RemoteHost(_target(loopback_sshd))
    try:
        with pytest.raises(Exception) as raised:
            await host.run("echo boom >&2; exit 3")
        message = str(raised.value)
        assert message.startswith("127.0.0.1: ")
        assert "exit 3" in message and "boom" in message
    finally:
        await host.close()


async def test_unknown_host_key_is_refused_with_its_fingerprint(loopback_sshd, tmp_path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    host = RemoteHost(_target(loopback_sshd, known_hosts=(str(empty),)))
    with pytest.raises(HostKeyUnknown) as raised:
        await host.run("true")
    assert "SHA256:" in str(raised.value)
    assert raised.value.fingerprint in str(raised.value)


async def test_changed_host_key_is_refused_loudly(loopback_sshd, tmp_path) -> None:
    other = tmp_path / "known_hosts"
    # A different ed25519 key recorded for the same host and port.
    import asyncssh

    fake = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().strip()
    other.write_text(f"[127.0.0.1]:{loopback_sshd.port} {fake}\n")
    host = RemoteHost(_target(loopback_sshd, known_hosts=(str(other),)))
    with pytest.raises(HostKeyChanged) as raised:
        await host.run("true")
    assert "HOST KEY CHANGED" in str(raised.value) and str(other) in str(raised.value)


async def test_wrong_key_is_an_authentication_error(loopback_sshd, tmp_path) -> None:
    import asyncssh

    wrong = tmp_path / "wrong_key"
    wrong.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    host = RemoteHost(_target(loopback_sshd, keys=(str(wrong),)))
    with pytest.raises(AuthenticationFailed, match="refused the SSH keys"):
        await host.run("true")


async def test_closed_port_is_unreachable() -> None:
    host = RemoteHost(SSHTarget(host="127.0.0.1", port=1, config=False, connect_timeout=3))
    with pytest.raises(HostUnreachable, match=r"127\.0\.0\.1: cannot connect to port 1"):
        await host.run("true")


async def test_forbidden_stream_forwarding_is_explained(loopback_sshd_no_forwarding) -> None:
    host = RemoteHost(_target(loopback_sshd_no_forwarding))
    try:
        with pytest.raises(DockerUnavailable, match="AllowStreamLocalForwarding yes"):
            await host.docker()
    finally:
        await host.close()


async def test_http_status_probes_an_address_as_the_host_sees_it(loopback_sshd) -> None:
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/up" else 503)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = RemoteHost(_target(loopback_sshd))
    try:
        port = server.server_address[1]
        assert await host.http_status("127.0.0.1", port, "/up") == 200
        assert await host.http_status("127.0.0.1", port, "/booting") == 503
        server.shutdown()
        server.server_close()
        assert await host.http_status("127.0.0.1", port, "/up", timeout=0.5) is None
    finally:
        await host.close()


async def test_connection_prefers_aes_gcm_and_reads_the_socket_in_bounded_pieces(loopback_sshd) -> None:
    """With no `Ciphers` in the ssh config AES-GCM is negotiated (cheap to decrypt in-process), and the socket
    is read SOCKET_READ_SIZE bytes a time (asyncssh copies what is left of a read for every packet)."""
    from app.remote.ssh import SOCKET_READ_SIZE

    host = RemoteHost(_target(loopback_sshd))
    try:
        connection = await host.connection()
        assert connection.get_extra_info("recv_cipher") in ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
        assert connection._transport.max_size == SOCKET_READ_SIZE
        payload = await host.run("head -c 3000000 /dev/zero | tr '\\0' x")  # many reads' worth arrives whole
        assert payload.stdout == "x" * 3_000_000
    finally:
        await host.close()


async def test_a_small_files_requests_follow_its_open_in_one_round_trip(loopback_sshd) -> None:
    """Mode, bytes and close (or size, bytes and close) are all sent before the first of their answers
    arrives; a file too big for one request still reads and writes whole."""
    from asyncssh import sftp as wire

    host = RemoteHost(_target(loopback_sshd))
    folder = f".shipdeck-test-{uuid.uuid4().hex[:8]}"
    names = {wire.FXP_OPEN: "open", wire.FXP_CLOSE: "close", wire.FXP_READ: "read", wire.FXP_WRITE: "write",
             wire.FXP_FSTAT: "fstat", wire.FXP_FSETSTAT: "fsetstat"}
    seen: list[str] = []
    try:
        await host.makedirs(folder)
        handler = (await host.sftp())._handler
        send, process = handler._send_request, handler._process_packet

        def sending(pkttype, args, waiter):
            seen.append(names.get(pkttype, str(pkttype)))
            return send(pkttype, args, waiter)

        async def answering(pkttype, pktid, packet):
            seen.append("answer")
            return await process(pkttype, pktid, packet)

        handler._send_request, handler._process_packet = sending, answering
        await host.write_file(f"{folder}/env", b"SECRET=z\n", mode=0o600)
        assert seen == ["open", "answer", "fsetstat", "write", "close", "answer", "answer", "answer"]
        seen.clear()
        await host.append_lines(f"{folder}/audit.log", ["one", "two"])
        assert seen == ["open", "answer", "write", "close", "answer", "answer"]
        seen.clear()
        assert await host.read_file_and_mode(f"{folder}/env") == (b"SECRET=z\n", 0o600)
        assert seen == ["open", "answer", "fstat", "read", "close", "answer", "answer", "answer"]
        assert await host.read_file(f"{folder}/audit.log") == b"one\ntwo\n"
        assert await host.read_file(f"{folder}/missing") is None
        big = bytes(range(256)) * 600  # 150 KiB: more than one request carries
        await host.write_file(f"{folder}/big", big, mode=0o640)
        assert await host.read_file_and_mode(f"{folder}/big") == (big, 0o640)
        await host.append_lines(f"{folder}/audit.log", ["x" * 40000])
        assert await host.read_file(f"{folder}/audit.log") == b"one\ntwo\n" + b"x" * 40000 + b"\n"
        await host.write_file(f"{folder}/empty", b"")
        assert await host.read_file_and_mode(f"{folder}/empty") == (b"", 0o600)
    finally:
        await host.run(f"rm -rf {folder}", check=False)
        await host.close()


async def test_makedirs_costs_one_request_when_the_directory_is_there(loopback_sshd) -> None:
    folder = f".shipdeck-test-{uuid.uuid4().hex[:8]}"
    first, second = RemoteHost(_target(loopback_sshd)), RemoteHost(_target(loopback_sshd))
    try:
        await first.makedirs(f"{folder}/a/b/c")
        assert (await first.run(f"test -d {folder}/a/b/c && echo yes")).stdout.strip() == "yes"
        sftp = await second.sftp()
        requests: list[str] = []

        def counting(name: str, call):
            def counted(*args, **kwargs):
                requests.append(name)
                return call(*args, **kwargs)
            return counted

        for name in ("mkdir", "stat"):
            setattr(sftp, name, counting(name, getattr(sftp, name)))
        await second.makedirs(f"{folder}/a/b/c")  # a later run: the directory is already there
        assert requests == ["stat"]
        await second.makedirs(f"{folder}/a/b/d")  # missing: created
        assert (await second.run(f"test -d {folder}/a/b/d && echo yes")).stdout.strip() == "yes"
    finally:
        await first.run(f"rm -rf {folder}", check=False)
        await first.close()
        await second.close()


async def test_a_folder_removed_behind_a_long_lived_host_is_made_again(loopback_sshd) -> None:
    """A Fleet keeps its hosts for its whole life and remembers the folders it made; when one is removed
    meanwhile (`kamal remove`, an operator), the next file write, queued append, lock mkdir or rechecked
    mkdir makes it again instead of failing with "No such file"."""
    host = RemoteHost(_target(loopback_sshd))
    folder = f".shipdeck-test-{uuid.uuid4().hex[:8]}"
    try:
        await host.write_file(f"{folder}/env/web.env", b"A=1\n")
        host.append_line_soon(f"{folder}/log/audit.log", "first")
        await host.settle()
        await host.makedirs(f"{folder}/run")
        await host.makedirs(f"{folder}/data")
        await host.run(f"rm -rf {folder}")  # behind the host's back: it still remembers every folder

        await host.write_file(f"{folder}/env/web.env", b"A=2\n")
        host.append_line_soon(f"{folder}/log/audit.log", "second")
        await host.settle()
        assert await host.mkdir_exclusive(f"{folder}/run/lock") is True
        await host.makedirs(f"{folder}/data", recheck=True)
        await host.makedirs(f"{folder}/other")  # a folder never seen is made as before
        listing = await host.run(f"cat {folder}/env/web.env {folder}/log/audit.log; test -d {folder}/run/lock && "
                                 f"test -d {folder}/data && test -d {folder}/other && echo dirs")
        assert listing.stdout.split() == ["A=2", "second", "dirs"]

        await host.run(f"rm -rf {folder}/run")
        await host.makedirs(f"{folder}/run")  # remembered: no look, no folder
        assert (await host.run(f"test -d {folder}/run || echo gone")).stdout.strip() == "gone"
    finally:
        await host.run(f"rm -rf {folder}", check=False)
        await host.close()


def test_ssh_config_ciphers_win_over_the_preferred_order(tmp_path) -> None:
    """Without `Ciphers` in the ssh config AES-GCM is offered first; a config that names its own keeps them."""
    from app.remote.ssh import PREFERRED_CIPHERS, connection_options

    plain, chosen = tmp_path / "plain", tmp_path / "chosen"
    plain.write_text("Host *\n  User root\n")
    chosen.write_text("Host *\n  Ciphers aes256-ctr\n")
    preferred = connection_options(SSHTarget(host="10.0.0.1", config=(str(plain),)))
    assert [name.decode() for name in preferred.encryption_algs] == list(PREFERRED_CIPHERS)
    assert connection_options(SSHTarget(host="10.0.0.1", config=(str(chosen),))).encryption_algs == [b"aes256-ctr"]
