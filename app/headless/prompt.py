"""Confirmations asked at the terminal, for operators running shipdeck by hand.

Used only when stdin and stdout are terminals and no CI is detected; everywhere else the headless
`FlagConfirmer` answers (never a prompt that could hang a CI job). The request is shown in full —
every host and the exact effect there — and the default is no. Data-destroying actions need the
target's name typed, not just "y".
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TextIO

from app.engine.confirm import ConfirmationRequest, describe

CI_VARIABLES = ("CI", "GITLAB_CI", "GITHUB_ACTIONS", "BUILDKITE", "JENKINS_URL", "TEAMCITY_VERSION")


def interactive_terminal() -> bool:
    """True when a person can answer: both ends are terminals and no CI system is detected."""
    if any(os.environ.get(name) for name in CI_VARIABLES):
        return False
    return sys.stdin.isatty() and sys.stdout.isatty()


class TerminalConfirmer:
    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout

    async def confirm(self, request: ConfirmationRequest) -> bool:
        return await asyncio.to_thread(self._ask, request)

    def _ask(self, request: ConfirmationRequest) -> bool:
        self.stdout.write("\n" + describe(request) + "\n\n")
        if request.destroys_data:
            question = f"Type {request.typed_target!r} to go ahead (anything else cancels): "
        else:
            question = "Go ahead? [y/N] "
        self.stdout.write(question)
        self.stdout.flush()
        answer = self.stdin.readline()
        if not answer:  # EOF: never loop, never assume yes
            self.stdout.write("\n")
            return False
        answer = answer.strip()
        if request.destroys_data:
            return answer == request.typed_target
        return answer.lower() in ("y", "yes")
