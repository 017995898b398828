"""Reports a CI system reads after a run: JUnit XML (a test case per step and host) and a dotenv file.

GitLab shows `artifacts:reports:junit` in the merge request and the pipeline's Tests tab, and turns
`artifacts:reports:dotenv` into job variables (the dynamic environment URL). Both are written even when
the run fails, with every text masked, in one atomic rename so a half-written report never appears.
"""

from __future__ import annotations

import os
import re
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.engine.events import Event, Output, RunFinished, RunStarted, StepFinished, StepStarted, StepStatus
from app.errors import ShipdeckError
from app.secrets.masking import mask

_KEPT_LINES = 50  # output lines kept per failed step in the report


@dataclass
class _Case:
    name: str
    classname: str
    duration: float
    status: StepStatus
    error: str | None
    output: list[str]


@dataclass
class JUnitReport:
    """Collects events (subscribe it to a run) and writes them as one JUnit test suite."""

    command: str = "shipdeck"
    cases: list[_Case] = field(default_factory=list)
    duration: float = 0.0
    _titles: dict[str, str] = field(default_factory=dict)
    _lines: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(lambda: deque(maxlen=_KEPT_LINES)))

    @staticmethod
    def _key(step_id: str, step: str, host: str | None) -> str:
        return step_id or f"{step}@{host or ''}"

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.command = f"shipdeck {event.command}"
        elif isinstance(event, StepStarted):
            self._titles[self._key(event.step_id, event.step, event.host)] = event.title
        elif isinstance(event, Output):
            self._lines[self._key(event.step_id, event.step, event.host)].append(event.line)
        elif isinstance(event, StepFinished):
            key = self._key(event.step_id, event.step, event.host)
            title = self._titles.pop(key, event.step)
            where = event.host or "local"
            self.cases.append(_Case(name=f"{title} [{where}]", classname=f"{event.step}.{where}",
                                    duration=event.duration, status=event.status, error=event.error,
                                    output=list(self._lines.pop(key, ()))))
        elif isinstance(event, RunFinished):
            self.duration = event.duration

    def to_xml(self) -> str:
        failures = sum(case.status is StepStatus.FAILED for case in self.cases)
        skipped = sum(case.status in (StepStatus.SKIPPED, StepStatus.CANCELLED) for case in self.cases)
        suites = ElementTree.Element("testsuites", name=_clean(self.command))
        suite = ElementTree.SubElement(suites, "testsuite", name=_clean(self.command), tests=str(len(self.cases)),
                                       failures=str(failures), errors="0", skipped=str(skipped),
                                       time=f"{self.duration:.3f}")
        for case in self.cases:
            element = ElementTree.SubElement(suite, "testcase", name=_clean(case.name),
                                             classname=_clean(case.classname), time=f"{case.duration:.3f}")
            if case.status is StepStatus.FAILED:
                failure = ElementTree.SubElement(element, "failure", message=_clean(case.error or "failed"))
                failure.text = _clean("\n".join(case.output))
            elif case.status in (StepStatus.SKIPPED, StepStatus.CANCELLED):
                reason = "cancelled" if case.status is StepStatus.CANCELLED else (case.error or "skipped")
                ElementTree.SubElement(element, "skipped", message=_clean(reason))
            elif case.output:
                ElementTree.SubElement(element, "system-out").text = _clean("\n".join(case.output))
        ElementTree.indent(suites)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"

    def write(self, path: Path) -> None:
        write_atomically(path, self.to_xml())


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DOTENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _clean(text: str) -> str:
    """Masked, and without the control characters XML 1.0 cannot carry."""
    return _XML_INVALID.sub("?", mask(text))


def dotenv_text(values: Mapping[str, str]) -> str:
    """`KEY=value` lines as GitLab's dotenv report reads them (one line each, no newline in a value)."""
    lines = []
    for key, value in values.items():
        if not _DOTENV_KEY.fullmatch(key):
            raise ShipdeckError(f"dotenv report: {key!r} is not a variable name")
        if "\n" in value or "\r" in value:
            raise ShipdeckError(f"dotenv report: the value of {key} has a line break")
        lines.append(f"{key}={mask(value)}")
    return "".join(line + "\n" for line in lines)


def write_atomically(path: Path, text: str) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except OSError as error:
        raise ShipdeckError(f"cannot write {path}: {error.strerror or error}") from None
