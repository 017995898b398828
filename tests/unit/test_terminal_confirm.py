"""The terminal prompt: shows every host's effect, defaults to no, needs the name for data loss."""

from __future__ import annotations

import io

import pytest

from app.engine.confirm import ConfirmationRequest, Effect
from app.headless.prompt import TerminalConfirmer, interactive_terminal


def _request(destroys_data: bool) -> ConfirmationRequest:
    return ConfirmationRequest(
        action="accessory.remove" if destroys_data else "proxy.reboot",
        title="Remove accessory db" if destroys_data else "Reboot kamal-proxy on 2 hosts",
        consequence="Deletes data." if destroys_data else "A brief outage on each host.",
        effects=(Effect("10.0.0.1", "docker container stop kamal-proxy"), Effect("10.0.0.2", "rm -rf app-db")),
        target="db" if destroys_data else "kamal-proxy",
        destroys_data=destroys_data,
    )


@pytest.mark.parametrize(("answer", "expected"), [("y\n", True), ("yes\n", True), ("\n", False), ("n\n", False),
                                                  ("", False)])
async def test_outage_needs_an_explicit_yes(answer: str, expected: bool) -> None:
    shown = io.StringIO()
    confirmer = TerminalConfirmer(stdin=io.StringIO(answer), stdout=shown)
    assert await confirmer.confirm(_request(destroys_data=False)) is expected
    assert "10.0.0.1: docker container stop kamal-proxy" in shown.getvalue()
    assert "[y/N]" in shown.getvalue()


@pytest.mark.parametrize(("answer", "expected"), [("db\n", True), ("y\n", False), ("DB\n", False), ("", False)])
async def test_data_loss_needs_the_target_typed(answer: str, expected: bool) -> None:
    shown = io.StringIO()
    confirmer = TerminalConfirmer(stdin=io.StringIO(answer), stdout=shown)
    assert await confirmer.confirm(_request(destroys_data=True)) is expected
    assert "10.0.0.2: rm -rf app-db" in shown.getvalue()


def test_ci_is_never_interactive(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert interactive_terminal() is False
