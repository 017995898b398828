"""A run's events as CI-native log lines: GitLab collapsible sections, GitHub Actions groups, plain lines.

Steps of one run execute concurrently on several hosts, so a step's output is buffered and written as
one block when the step finishes: sections never interleave, and GitLab (which reads `collapsed=true`
only at `section_start`) can fold the steps that passed and leave failed ones open. Timestamps come
from the events, so GitLab shows each section's real duration.

Secrets: every line passes through `mask()` right before it is written; under GitHub Actions each
secret value is announced with `::add-mask::` before the first line that could contain it, and remote
output is wrapped in `::stop-commands::` so a container's log line cannot inject a workflow command.
"""

from __future__ import annotations

import re
import secrets as token_source
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from app.engine.events import (
    Diagnosis,
    Event,
    Notice,
    Output,
    Rows,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    StepStatus,
)
from app.headless.ci import CIEnvironment, CIKind
from app.secrets.masking import mask

_ESC = "\x1b"
_RESET = f"{_ESC}[0m"
_COLOURS = {"ok": f"{_ESC}[32m", "failed": f"{_ESC}[31m", "warning": f"{_ESC}[33m", "dim": f"{_ESC}[2m",
            "bold": f"{_ESC}[1m"}
_SYMBOLS = {StepStatus.OK: "✓", StepStatus.FAILED: "✗", StepStatus.SKIPPED: "-", StepStatus.CANCELLED: "⊘"}
_SECTION_NAME = re.compile(r"[^a-zA-Z0-9_.-]")


@dataclass
class _OpenStep:
    started: StepStarted
    lines: list[Output] = field(default_factory=list)


def section_name(step_id: str, step: str, sequence: int) -> str:
    """A GitLab section name (only `[a-zA-Z0-9_.-]` is allowed), unique within the run."""
    return _SECTION_NAME.sub("_", f"{sequence:03d}_{step_id or step}")


class CIRenderer:
    """Writes events for the CI system in `ci`; `secret_values` gives every secret known so far."""

    def __init__(self, ci: CIEnvironment, stream: TextIO | None = None, *, verbose: bool = False,
                 secret_values: Callable[[], Sequence[str]] = lambda: ()) -> None:
        self.ci = ci
        self.stream = stream or sys.stdout
        self.verbose = verbose
        self.secret_values = secret_values
        self._announced: set[str] = set()
        self._open: dict[str, _OpenStep] = {}
        self._sequence = 0
        self._closed = False
        self.failed_steps: list[StepFinished] = []

    # --- writing -----------------------------------------------------------------------------------

    def _paint(self, text: str, colour: str) -> str:
        return f"{_COLOURS[colour]}{text}{_RESET}" if self.ci.colour else text

    def _announce_secrets(self) -> None:
        if self.ci.kind is not CIKind.GITHUB:
            return
        for value in self.secret_values():
            for line in {value, *value.splitlines()}:
                if line and line not in self._announced:
                    self._announced.add(line)
                    self._raw(f"::add-mask::{line}")

    def _raw(self, text: str) -> None:
        if self._closed:
            return
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away: keep the run going, quietly
            self._closed = True

    def _write(self, text: str) -> None:
        self._announce_secrets()
        self._raw(mask(text))

    # --- events ------------------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None:
            handler(event)

    @staticmethod
    def _key(step_id: str, step: str, host: str | None) -> str:
        return step_id or f"{step}@{host or ''}"

    def _on_RunStarted(self, event: RunStarted) -> None:
        hosts = ", ".join(event.hosts) or "no hosts"
        version = f" version {event.version}" if event.version else ""
        self._write(self._paint(f"shipdeck {event.command}{version} on {hosts}", "bold"))

    def _on_StepStarted(self, event: StepStarted) -> None:
        self._open[self._key(event.step_id, event.step, event.host)] = _OpenStep(event)

    def _on_Output(self, event: Output) -> None:
        step = self._open.get(self._key(event.step_id, event.step, event.host))
        if step is None:
            self._write(f"{self._where(event.host)}{event.line}")
        else:
            step.lines.append(event)

    def _on_StepFinished(self, event: StepFinished) -> None:
        step = self._open.pop(self._key(event.step_id, event.step, event.host), None)
        started = step.started if step else None
        title = started.title if started else event.step
        lines = step.lines if step else []
        if event.status is StepStatus.FAILED:
            self.failed_steps.append(event)
        self._sequence += 1
        header = self._header(title, event)
        show_lines = self.verbose or event.status is StepStatus.FAILED or self.ci.kind in (CIKind.GITLAB,
                                                                                             CIKind.GITHUB)
        body = [f"{self._where(line.host)}{line.line}" for line in lines] if show_lines else []
        began = started.at if started else event.at - event.duration
        if self.ci.kind is CIKind.GITLAB:
            self._gitlab_section(section_name(event.step_id, event.step, self._sequence), header, body, began,
                                 event.at, collapsed=event.status is not StepStatus.FAILED)
        elif self.ci.kind is CIKind.GITHUB:
            self._github_group(header, body)
        else:
            self._write(header)
            for line in body:
                self._write(f"      {line}")
        if event.status is StepStatus.FAILED:
            self._error(f"{self._where(event.host)}{title}: {event.error or 'failed'}")

    def _on_Notice(self, event: Notice) -> None:
        text = f"{self._where(event.host)}{event.message}"
        if event.level == "warning":
            if self.ci.kind is CIKind.GITHUB:
                self._write(f"::warning::{_escape_data(text)}")
            else:
                self._write(self._paint(f"warning: {text}", "warning"))
        elif event.level == "error":
            self._error(text)
        else:
            self._write(text)

    def _on_Rows(self, event: Rows) -> None:
        self._write(self._paint(f"{self._where(event.host)}{event.title}", "bold"))
        widths = [max([len(column)] + [len(row[index]) for row in event.rows if index < len(row)])
                  for index, column in enumerate(event.columns)]
        self._write("  ".join(column.ljust(width) for column, width in zip(event.columns, widths, strict=True)))
        for row in event.rows:
            self._write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)))

    def _on_Diagnosis(self, event: Diagnosis) -> None:
        where = " ".join(part for part in (event.host, event.target) if part)
        self._error(f"{event.title}" + (f" ({where})" if where else ""))
        for line in event.detail.splitlines():
            self._write(f"  {line}")
        for label, command in event.fixes:
            self._write(f"  fix: {label}: {command}")

    def _on_RunFinished(self, event: RunFinished) -> None:
        for step in self._open.values():  # steps that never finished (the run was cut short)
            self._write(f"{self._where(step.started.host)}{step.started.title}: did not finish")
        self._open.clear()
        if event.ok:
            self._write(self._paint(f"done in {event.duration:.1f}s", "ok"))
        else:
            self._write(self._paint(f"failed after {event.duration:.1f}s: {event.error or 'see above'}", "failed"))

    # --- CI systems --------------------------------------------------------------------------------

    @staticmethod
    def _where(host: str | None) -> str:
        return f"[{host}] " if host else ""

    def _header(self, title: str, event: StepFinished) -> str:
        symbol = _SYMBOLS[event.status]
        colour = {"ok": "ok", "failed": "failed"}.get(event.status.value, "dim")
        text = f"{symbol} {self._where(event.host)}{title} ({event.duration:.1f}s)"
        if event.status is StepStatus.SKIPPED and event.error:
            text += f": skipped ({event.error})"
        if event.status is StepStatus.CANCELLED:
            text += ": cancelled"
        return self._paint(text, colour)

    def _gitlab_section(self, name: str, header: str, body: list[str], began: float, ended: float, *,
                        collapsed: bool) -> None:
        option = "[collapsed=true]" if collapsed else ""
        self._write(f"{_ESC}[0Ksection_start:{int(began)}:{name}{option}\r{_ESC}[0K{header}")
        for line in body:
            self._write(f"  {line}")
        self._write(f"{_ESC}[0Ksection_end:{int(ended)}:{name}\r{_ESC}[0K")

    def _github_group(self, header: str, body: list[str]) -> None:
        self._write(f"::group::{header}")
        if body:
            token = token_source.token_hex(8)
            self._write(f"::stop-commands::{token}")
            for line in body:
                self._write(line)
            self._write(f"::{token}::")
        self._write("::endgroup::")

    def _error(self, text: str) -> None:
        if self.ci.kind is CIKind.GITHUB:
            self._write(f"::error::{_escape_data(text)}")
        else:
            self._write(self._paint(f"error: {text}", "failed"))


def _escape_data(text: str) -> str:
    """GitHub's workflow-command data escaping (%, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
