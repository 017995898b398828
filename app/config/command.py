"""`shipdeck config`: print the combined config the way `kamal config` does."""

from __future__ import annotations

import argparse
import sys

from app.config import load_config
from app.config.output import kamal_config, to_json, to_yaml


def show(args: argparse.Namespace) -> int:
    config = load_config(config_file=args.config_file, destination=args.destination, version=args.version)
    data = kamal_config(config)
    sys.stdout.write(to_json(data) if args.json else to_yaml(data))
    return 0
