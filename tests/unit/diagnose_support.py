"""Configs for the diagnose tests, loaded through the real config loader from a temporary project."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.config import load_config
from app.config.model import Config

BASE = {"service": "app", "image": "acme/app", "servers": ["web1"], "builder": {"arch": "amd64"},
        "registry": {"server": "registry.example.com", "username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]}}


def make_config(tmp_path: Path, destination: str | None = None, version: str | None = "v1", **changes) -> Config:
    deploy = {**BASE, **changes}
    deploy = {key: value for key, value in deploy.items() if value is not None}
    folder = tmp_path / "config"
    folder.mkdir(exist_ok=True)
    (folder / "deploy.yml").write_text(yaml.safe_dump(deploy, sort_keys=False))
    if destination:
        (folder / f"deploy.{destination}.yml").write_text("{}\n")
    return load_config(cwd=str(tmp_path), destination=destination, version=version,
                       environ={"PATH": "/usr/bin:/bin"})
