"""Readable progress for the plain CLI: one line per finished step, output on demand or on failure."""

from __future__ import annotations

import sys
from collections import defaultdict, deque
from typing import TextIO

from app.engine.events import (
    Diagnosis,
    Event,
    Notice,
    Output,
    RunFinished,
    StepFinished,
    StepStarted,
    StepStatus,
)

_KEPT_LINES = 20  # output lines kept per step to show when it fails


class PlainRenderer:
    """Prints events as text. `verbose` streams every output line; otherwise lines appear on failure."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False, quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.verbose = verbose
        self.quiet = quiet
        self._closed = False
        self._titles: dict[tuple[str, str | None], str] = {}
        self._recent: dict[tuple[str, str | None], deque[str]] = defaultdict(lambda: deque(maxlen=_KEPT_LINES))

    def __call__(self, event: Event) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None:
            handler(event)

    def _write(self, text: str) -> None:
        if self._closed:
            return
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away (`| head`): keep running, quietly
            self._closed = True

    @staticmethod
    def _where(host: str | None) -> str:
        return f"[{host}] " if host else ""

    def _on_StepStarted(self, event: StepStarted) -> None:
        self._titles[(event.step, event.host)] = event.title
        if self.verbose:
            self._write(f"  … {self._where(event.host)}{event.title}")

    def _on_Output(self, event: Output) -> None:
        key = (event.step, event.host)
        self._recent[key].append(event.line)
        if self.verbose:
            self._write(f"      {self._where(event.host)}{event.line}")

    def _on_StepFinished(self, event: StepFinished) -> None:
        key = (event.step, event.host)
        title = self._titles.pop(key, event.step)
        recent = self._recent.pop(key, deque())
        where = self._where(event.host)
        if event.status is StepStatus.OK:
            if not self.quiet:
                self._write(f"  ✓ {where}{title} ({event.duration:.1f}s)")
        elif event.status is StepStatus.SKIPPED:
            if not self.quiet:
                self._write(f"  - {where}{title}: skipped ({event.error})")
        elif event.status is StepStatus.CANCELLED:
            self._write(f"  ⊘ {where}{title}: cancelled")
        else:
            first, _, _ = (event.error or "").partition("\n")  # the whole message ends the run, once
            self._write(f"  ✗ {where}{title}: {first}")
            if not self.verbose:
                for line in recent:
                    self._write(f"      {line}")

    def _on_Notice(self, event: Notice) -> None:
        if self.quiet and event.level == "info":
            return
        prefix = {"warning": "warning: ", "error": "error: "}.get(event.level, "")
        self._write(f"  {self._where(event.host)}{prefix}{event.message}")

    def _on_Diagnosis(self, event: Diagnosis) -> None:
        target = f"{event.target}: " if event.target else ""
        self._write(f"  diagnosis {self._where(event.host)}{target}{event.title}")
        for line in event.detail.splitlines():
            self._write(f"    {line}")
        for label, command in event.fixes:
            self._write(f"    fix: {label}: {command}")

    def _on_RunFinished(self, event: RunFinished) -> None:
        if event.ok:
            if not self.quiet:
                self._write(f"Finished all in {event.duration:.1f} seconds")
        else:  # the reason follows once, as the command's last line (`shipdeck: ...` on stderr)
            self._write(f"Failed after {event.duration:.1f} seconds")
