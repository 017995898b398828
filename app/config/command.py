"""`shipdeck config` (print the combined config the way `kamal config` does) and `shipdeck init`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from app.config import load_config
from app.config.output import kamal_config, to_json, to_yaml


def _secret_names(config) -> set[str]:
    """The keys of the secrets files, needed (as in Kamal) only to tell secret key_data from literal."""
    ssh = config.raw.get("ssh")
    if not isinstance(ssh, Mapping) or not ssh.get("key_data"):
        return set()
    from app.secrets import Secrets

    return set(Secrets(config.project_dir, secrets_path=config.secrets_path, destination=config.destination)
               .file_values())


def show(args: argparse.Namespace) -> int:
    config = load_config(config_file=args.config_file, destination=args.destination, version=args.version)
    data = kamal_config(config, _secret_names(config))
    text = to_json(data) if args.json else to_yaml(data)
    sys.stdout.write(text)
    return 0


def init(args: argparse.Namespace) -> int:
    """Kamal's `init`: write config/deploy.yml, .kamal/secrets and the sample hooks where missing."""
    from app.config.scaffold import bundle_binstub, write_scaffold

    for line in write_scaffold("."):
        print(line)
    if args.bundle:
        for line in bundle_binstub("."):
            print(line)
    return 0
