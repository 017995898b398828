"""`shipdeck build push|pull|deliver|dev|create|remove|details` (`--no-cache` reaches the build through the
run options)."""

from __future__ import annotations

import argparse

from app.cli.session import run_operation
from app.engine import build, build_setup
from app.engine.runner import Run


def push(args: argparse.Namespace) -> int:
    output = args.output

    async def push_image(run: Run) -> None:
        result = await build.push(run, output=output)
        done = "Pushed" if output == "registry" else f"Built ({output})"
        run.lines("build.push", "", [f"{done} {', '.join(result.images)}"])

    return run_operation(args, "build", "push", push_image)


def dev(args: argparse.Namespace) -> int:
    output = args.output
    return run_operation(args, "build", "dev", lambda run: build_setup.dev(run, output=output))


def create(args: argparse.Namespace) -> int:
    return run_operation(args, "build", "create", build_setup.create)


def remove(args: argparse.Namespace) -> int:
    return run_operation(args, "build", "remove", build_setup.remove)


def details(args: argparse.Namespace) -> int:
    return run_operation(args, "build", "details", build_setup.details)


def pull(args: argparse.Namespace) -> int:
    return run_operation(args, "build", "pull", build.pull)


def deliver(args: argparse.Namespace) -> int:
    return run_operation(args, "build", "deliver", build.deliver)
