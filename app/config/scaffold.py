"""The files `shipdeck init` writes, in the places and with the messages of `kamal init`.

`config/deploy.yml`, `.kamal/secrets` and the sample hooks in `.kamal/hooks` (executable, with a
`.sample` suffix so that none runs until renamed), each written only where missing, exactly as Kamal
2.11 does. The templates are this package's data files; both shipdeck and Kamal load the result
unchanged. `--bundle` adds Kamal to the Gemfile and writes `bin/kamal` with Bundler, as Kamal does,
so a team can keep running Kamal next to shipdeck.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from app.errors import ShipdeckError

DEPLOY_FILE = "config/deploy.yml"
SECRETS_FILE = ".kamal/secrets"
HOOKS_DIR = ".kamal/hooks"
BINSTUB = "bin/kamal"


def _templates() -> Path:
    return Path(str(resources.files("app.config") / "templates"))


def write_scaffold(project_dir: str | os.PathLike[str]) -> list[str]:
    """Write the files that are missing; return Kamal's lines saying what happened."""
    root = Path(project_dir)
    templates = _templates()
    said: list[str] = []
    deploy = root / DEPLOY_FILE
    if deploy.exists():
        said.append(f"Config file already exists in {DEPLOY_FILE} (remove first to create a new one)")
    else:
        deploy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(templates / "deploy.yml", deploy)
        said.append(f"Created configuration file in {DEPLOY_FILE}")
    secrets = root / SECRETS_FILE
    if not secrets.exists():
        secrets.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(templates / "secrets", secrets)
        said.append(f"Created {SECRETS_FILE} file")
    hooks = root / HOOKS_DIR
    if not hooks.exists():
        hooks.mkdir(parents=True)
        for sample in sorted((templates / "hooks").iterdir()):
            shutil.copy2(sample, hooks / sample.name)
            (hooks / sample.name).chmod(0o755)
        said.append(f"Created sample hooks in {HOOKS_DIR}")
    return said


def bundle_binstub(project_dir: str | os.PathLike[str]) -> list[str]:
    """`kamal init --bundle`: `bundle add kamal` and `bundle binstubs kamal`, unless bin/kamal exists."""
    root = Path(project_dir)
    if (root / BINSTUB).exists():
        return [f"Binstub already exists in {BINSTUB} (remove first to create a new one)"]
    print("Adding Kamal to Gemfile and bundle...", flush=True)
    for arguments in (["add", "kamal"], ["binstubs", "kamal"]):
        try:
            result = subprocess.run(["bundle", *arguments], cwd=root, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise ShipdeckError("bundle: command not found (Bundler is needed for --bundle)") from None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ShipdeckError(f"bundle {' '.join(arguments)} failed (exit {result.returncode})"
                                + (f": {detail[-1]}" if detail else ""))
    return [f"Created binstub file in {BINSTUB}"]
