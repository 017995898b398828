"""What an `--auto` run writes: CI-native log lines (GitLab sections, GitHub groups, every secret masked),
and the reports asked for (`--junit FILE`, `--dotenv FILE`), written even when the run fails."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.auto import AutoFlags
from app.engine.events import Event


class AutoOutput:
    def __init__(self, flags: AutoFlags, config: Any, *, verbose: bool = False) -> None:
        from app.headless.ci import detect
        from app.headless.ci_output import CIRenderer
        from app.headless.reports import JUnitReport
        from app.secrets import masking

        self.flags = flags
        self.config = config
        isatty = sys.stdout.isatty()
        self.renderer = CIRenderer(detect(os.environ, isatty=isatty), verbose=verbose,
                                   secret_values=masking.registered)
        self.junit = JUnitReport() if flags.junit else None

    def sinks(self) -> tuple[Callable[[Event], None], ...]:
        return (self.renderer,) if self.junit is None else (self.renderer, self.junit)

    def dotenv_values(self) -> dict[str, str]:
        """SHIPDECK_VERSION, SHIPDECK_URL and DYNAMIC_ENVIRONMENT_URL (GitLab's environment URL)."""
        from app.engine.auto import app_url

        values = {"SHIPDECK_VERSION": self.config.version or ""}
        url = app_url(self.config)
        if url:
            values["SHIPDECK_URL"] = url
            values["DYNAMIC_ENVIRONMENT_URL"] = url
        return values

    def write_reports(self) -> None:
        from app.headless.reports import dotenv_text, write_atomically

        if self.junit is not None and self.flags.junit:
            self.junit.write(Path(self.flags.junit))
        if self.flags.dotenv:
            write_atomically(Path(self.flags.dotenv), dotenv_text(self.dotenv_values()))
