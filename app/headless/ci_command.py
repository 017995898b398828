"""`shipdeck ci gitlab|github`: the pipeline for this project, its secrets' variables listed."""

from __future__ import annotations

import argparse
import os
import sys

from app.headless.pipelines import PipelineSpec, github, gitlab


def secret_names(config_file: str, destination: str | None) -> tuple[str, ...]:
    """The secrets the project's deploy resolves (the registry password when there is no config yet)."""
    if not os.path.exists(config_file):
        return PipelineSpec.secret_names
    from app.config import load_config
    from app.engine.auto import secret_references

    config = load_config(config_file=config_file, destination=destination, version="unused")
    return tuple(secret_references(config))


def print_pipeline(args: argparse.Namespace) -> int:
    spec = PipelineSpec(secret_names=secret_names(args.config_file, args.destination), destination=args.destination,
                        environment=args.environment, branch=args.branch)
    sys.stdout.write(gitlab(spec) if args.subcommand == "gitlab" else github(spec))
    return 0
