"""The five CLI-driven adapters against real Kamal 2.11: both tools run `secrets fetch` with the same
stand-in CLIs on PATH; the calls each makes, its JSON output or its error message must be those of
tests/secrets_adapter_scenarios.py (which the unit tests hold shipdeck to as well)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.interop.conftest import RunTool
from tests.secrets_adapter_scenarios import SCENARIOS, Scenario
from tests.secrets_fake_clis import FakeClis

pytestmark = [pytest.mark.kamal, pytest.mark.slow]

_KAMAL_ERROR = re.compile(rb"ERROR \((?:RuntimeError|ArgumentError)\): (.*?)\x1b\[0m")


def _fakes(root: Path, scenario: Scenario) -> FakeClis:
    fakes = FakeClis(root)
    for cli, argv, stdout, *exit_status in scenario.answers:
        fakes.answer(cli, argv, stdout, exit=exit_status[0] if exit_status else 0)
    for cli in scenario.missing_clis:
        fakes.remove(cli)
    return fakes


def _outcome(completed: subprocess.CompletedProcess, tool: str) -> tuple[str, object]:
    if tool == "kamal":
        error = _KAMAL_ERROR.search(completed.stdout)
        if error:
            return "error", error.group(1).decode()
    elif completed.returncode != 0:
        prefix = re.match(r"shipdeck: secrets fetch --adapter \S+: (.*)\n\Z", completed.stderr.decode())
        return "error", prefix.group(1) if prefix else completed.stderr.decode()
    assert completed.returncode == 0, completed.stderr.decode()
    assert completed.stdout.endswith(b"\n") and completed.stdout.count(b"\n") == 1
    return "result", json.loads(completed.stdout)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_both_tools_call_the_clis_alike(scenario: Scenario, tmp_path: Path, secrets_kamal: RunTool,
                                        secrets_shipdeck: RunTool) -> None:
    expected = ("error", scenario.error) if scenario.error is not None else ("result", scenario.result)
    outputs = {}
    for tool, run in (("kamal", secrets_kamal), ("shipdeck", secrets_shipdeck)):
        root = tmp_path / tool
        root.mkdir()
        fakes = _fakes(root, scenario)
        completed = run(["secrets", "fetch", *scenario.argv], tmp_path, fakes.environ(HOME=str(root)))
        assert (tool, fakes.calls()) == (tool, scenario.calls)
        assert (tool, _outcome(completed, tool)) == (tool, expected)
        outputs[tool] = completed.stdout
    if scenario.error is None:
        assert outputs["shipdeck"] == outputs["kamal"]  # byte for byte: key order, escapes, non-ASCII


@pytest.mark.parametrize("argv", [
    ["fetch", "-a", "test", "--account", "x", "--from", "v", "a", "b c", "é", "q\"\\\x01\u2028"],
    ["fetch", "-a", "test", "--account", "x"],
    ["extract", "a", '{"x/a":"1","a2":"no"}'],
    ["extract", "a", '{"a":null,"y/a":"s\\nt\\n"}'],
    ["extract", "a", '{"a":[1,[],[2,null],"s",1e20,1.5e-7,-0.0,false]}'],
    ["extract", "a", '{"a":{"b":1,"c":[true,"x\\"\\u0001#{\\u00e9",{}]}}'],
    ["extract", "a", '{"a":1e400}'],
])
def test_fetch_and_extract_print_like_kamal(argv: list[str], tmp_path: Path, secrets_kamal: RunTool,
                                            secrets_shipdeck: RunTool) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    kamal = secrets_kamal(["secrets", *argv], tmp_path, env)
    shipdeck = secrets_shipdeck(["secrets", *argv], tmp_path, env)
    assert kamal.returncode == 0 and shipdeck.returncode == 0, shipdeck.stderr
    assert shipdeck.stdout == kamal.stdout
