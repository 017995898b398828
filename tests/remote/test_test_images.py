"""The images the tests build are right wherever they are built, and named by their recipe."""

from __future__ import annotations

import os
from pathlib import Path

from tests.remote import docker_fixtures as fixtures
from tests.remote.docker_fixtures import docker

test_image = fixtures.test_image


def test_busybox_image_runs_its_shell_inside_a_container(test_image: str) -> None:
    result = docker("run", "--rm", test_image, "/bin/sh", "-c", 'echo "sh:$0"; readlink /bin/sh; ls /bin | wc -l')
    said, link, applets = result.stdout.split()
    assert said == "sh:/bin/sh" and link == "busybox" and int(applets) > 100


def test_busybox_rootfs_links_are_relative(tmp_path: Path) -> None:
    fixtures.busybox_rootfs(tmp_path / "rootfs", fixtures.busybox_binary())
    links = [entry for entry in (tmp_path / "rootfs" / "bin").iterdir() if entry.is_symlink()]
    assert links and all(os.readlink(link) == "busybox" for link in links)


def test_image_tag_follows_the_recipe(tmp_path: Path) -> None:
    real = fixtures.busybox_binary()
    changed = tmp_path / "busybox"
    changed.write_bytes(real.read_bytes() + b"\0")
    tag = fixtures.busybox_image_tag(real)
    assert tag.startswith(f"{fixtures.TEST_REPOSITORY}:")
    assert tag == fixtures.busybox_image_tag(real)
    assert tag != fixtures.busybox_image_tag(changed)
