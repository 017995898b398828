"""The parts of the bare sandbox hosts that need no fleet: the apt index, the install script, the HTTPS file
server, the recipe hash and the names and addresses (apart from the fleet's)."""

from __future__ import annotations

import hashlib
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from app.sandbox import bare_image, docker_download, layout
from app.sandbox.system import tcp_open, terminate, wait_for


def make_deb(directory: Path, name: str, version: str) -> Path:
    package = directory.parent / "build" / name
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        f"Description: test package {name}\n")
    (package / "usr" / "share" / name).mkdir(parents=True)
    (package / "usr" / "share" / name / "file").write_text(name)
    deb = directory / f"{name}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(package), str(deb)], check=True,
                   capture_output=True)
    return deb


def test_repository_index_lists_every_deb_with_its_size_and_digest(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    debs = [make_deb(repo, "alpha", "1.0"), make_deb(repo, "beta", "2:0.5-1")]
    bare_image.write_repository_index(repo)
    stanzas = (repo / "Packages").read_text().strip().split("\n\n")
    assert [stanza.splitlines()[0] for stanza in stanzas] == ["Package: alpha", "Package: beta"]
    for deb, stanza in zip(debs, stanzas, strict=True):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
        assert fields["Filename"] == f"./{deb.name}"
        assert fields["Size"] == str(deb.stat().st_size)
        assert fields["SHA256"] == hashlib.sha256(deb.read_bytes()).hexdigest()
    release = (repo / "Release").read_text()
    packages = (repo / "Packages").read_bytes()
    assert f" {hashlib.sha256(packages).hexdigest()} {len(packages)} Packages" in release
    assert "Date: " in release


def test_recipe_hash_is_stable_and_follows_the_package_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    first = bare_image.recipe_hash()
    assert bare_image.recipe_hash() == first and len(first) == 16
    monkeypatch.setattr(bare_image, "DOCKER_PACKAGES", ("docker.io", "docker-compose"))
    assert bare_image.recipe_hash() != first


def test_install_script_is_valid_sh_and_uses_the_download_names() -> None:
    script = docker_download.INSTALL_SCRIPT
    assert subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True).returncode == 0
    assert f"https://{layout.DOCKER_DOWNLOAD_NAMES[1]}/linux/debian ./" in script
    assert "apt-get install" in script and "docker.io" in script and "setsid dockerd" in script


def test_bare_hosts_have_their_own_addresses_and_names() -> None:
    fleet_addresses = {layout.host_address(i) for i in range(1, layout.MAX_HOSTS + 1)}
    bare_addresses = {layout.bare_host_address(i) for i in range(1, layout.MAX_BARE_HOSTS + 1)}
    assert not fleet_addresses & bare_addresses and layout.GATEWAY not in bare_addresses
    assert all(int(address.rsplit(".", 1)[1]) < 255 for address in bare_addresses)
    # `sandbox up` removes netns named like its hosts beyond --hosts: a bare host's must not look like one.
    fleet_prefix = layout.netns_name(0)[:-1]
    assert not any(layout.bare_netns_name(i).startswith(fleet_prefix) for i in range(1, layout.MAX_BARE_HOSTS + 1))
    assert not layout.bare_host_name(1).removeprefix(layout.host_name(0)[:-1]).isdigit()


def test_https_file_server_serves_the_index_at_slash_and_files_below(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    www = tmp_path / "www"
    (www / "linux").mkdir(parents=True)
    (www / "index").write_text("#!/bin/sh\necho installer\n")
    (www / "linux" / "Packages").write_text("Package: x\n")
    port = 48443
    server = subprocess.Popen([sys.executable, str(docker_download.SERVER_SCRIPT), "127.0.0.1", str(port), str(www),
                               str(cert), str(key)], stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: tcp_open("127.0.0.1", port), timeout=10, what="the test server")
        context = ssl.create_default_context(cafile=str(cert))

        def get(path: str) -> bytes:
            with urllib.request.urlopen(f"https://localhost:{port}{path}", context=context, timeout=5) as reply:
                return reply.read()

        assert get("/") == b"#!/bin/sh\necho installer\n"
        assert get("/linux/Packages") == b"Package: x\n"
        with pytest.raises(urllib.error.HTTPError, match="404"):
            get("/missing")
    finally:
        terminate([server.pid], grace=2)
        server.wait(timeout=5)


def test_image_is_built_once_per_recipe_and_a_killed_build_is_redone(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[Path] = []
    killed = [False]

    def fake_build(staging: Path, log: object) -> None:  # the recipe hash covers this function's source
        builds.append(staging)
        (staging / "rootfs").mkdir(parents=True)
        if killed[0]:
            raise KeyboardInterrupt
        (staging / "repo").mkdir()

    monkeypatch.setattr(bare_image, "_build", fake_build)
    images = bare_image.images_dir(tmp_path)
    wanted = bare_image.recipe_hash()
    (images / "0123456789abcdef").mkdir(parents=True)  # an older recipe
    (images / f"{wanted}.new" / "rootfs").mkdir(parents=True)  # a build killed half way
    target = bare_image.ensure_bare_image(tmp_path, lambda line: None)
    assert target == images / wanted and (target / "complete").read_text().strip() == wanted
    assert sorted(p.name for p in images.iterdir()) == [wanted]
    assert builds == [images / f"{wanted}.new"]
    assert bare_image.ensure_bare_image(tmp_path, lambda line: None) == target and len(builds) == 1

    (target / "complete").unlink()  # as if that build had never finished
    killed[0] = True
    with pytest.raises(KeyboardInterrupt):
        bare_image.ensure_bare_image(tmp_path, lambda line: None)
    assert not (images / wanted).exists()
    killed[0] = False
    assert (bare_image.ensure_bare_image(tmp_path, lambda line: None) / "complete").is_file() and len(builds) == 3
