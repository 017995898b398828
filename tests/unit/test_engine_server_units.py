"""Server: Kamal's messages and the interactive ssh command."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import yaml

from app.config import load_config
from app.engine import server


def test_missing_docker_message_is_kamals() -> None:
    assert server.missing_message(["1.1.1.1", "1.1.1.2"]) == (
        "Docker is not installed on 1.1.1.1, 1.1.1.2 and can't be automatically installed without having root "
        "access and either `wget` or `curl`. Install Docker manually: https://docs.docker.com/engine/install/")


def test_ssh_argv_matches_kamals_run_over_ssh(tmp_path: Path) -> None:
    config = {"service": "app", "image": "dhh/app", "servers": ["1.1.1.1"], "builder": {"arch": "amd64"},
              "registry": {"username": "u", "password": "p"},
              "ssh": {"user": "deploy", "port": 2222, "proxy": "root@bastion", "config": "ssh/config",
                      "keys": ["~/.ssh/id_x"], "keys_only": True}}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    loaded = load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="1")
    argv = server.ssh_argv(SimpleNamespace(config=loaded), "1.1.1.1", "docker exec -it app-db psql")
    assert argv == ["ssh", "-F", "ssh/config", "-J", "root@bastion", "-i", "~/.ssh/id_x", "-o", "IdentitiesOnly=yes",
                    "-t", "deploy@1.1.1.1", "-p", "2222", "docker exec -it app-db psql"]
