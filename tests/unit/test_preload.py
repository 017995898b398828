"""Commands that reach servers start importing their network clients at once, on two threads."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import app.cli
from app.engine import warmup

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_preload_imports_asyncssh_here_and_aiohttp_on_a_thread_that_exit_waits_for() -> None:
    script = (
        "import sys, threading\n"
        "from app.remote.preload import preload_network_clients\n"
        "preload_network_clients()\n"
        "print('asyncssh' in sys.modules)\n"
        "print([t.name for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()])\n"
    )
    result = subprocess.run([sys.executable, "-c", script + "import atexit; atexit.register(lambda: "
                             "print('aiohttp' in sys.modules))\n"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "True"
    assert lines[1] in ("['shipdeck-import-aiohttp']", "[]")  # [] only if the import finished already
    assert lines[2] == "True", "exit waited for the import"


@pytest.mark.parametrize(("argv", "preloads"), [
    (["lock", "status"], True),
    (["app", "details"], True),
    (["version"], False),
    (["config"], False),
])
def test_only_commands_that_connect_preload(argv: list[str], preloads: bool, tmp_path: pathlib.Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(warmup, "start_imports", lambda: calls.append(True))
    monkeypatch.chdir(tmp_path)  # no config here: the commands end with a config error (or print a version)
    app.cli.main(argv)
    assert bool(calls) is preloads


LOOKUPS_DURING_IMPORT = (
    "import ctypes.util\n"
    "asked = []\n"
    "ctypes.util.find_library = lambda name: asked.append(name)\n"  # records, finds nothing
    "from app.remote.preload import _import_asyncssh\n"
    "_import_asyncssh()\n"
    "print(sorted({name for name in asked if 'oqs' in name}), ctypes.util.find_library.__name__)\n"
)


def _lookups(env_extra: dict[str, str]) -> str:
    env = {key: value for key, value in os.environ.items() if key != "LD_LIBRARY_PATH"}
    result = subprocess.run([sys.executable, "-c", LOOKUPS_DURING_IMPORT], capture_output=True, text=True,
                            cwd=ROOT, env={**env, **env_extra})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_asyncssh_is_imported_without_a_liboqs_search_when_the_loader_cannot_find_it() -> None:
    assert not any(any(pathlib.Path(d).glob("liboqs.so*")) for d in ("/usr/lib", "/usr/lib/x86_64-linux-gnu")), \
        "this machine has liboqs: the test needs a machine without it"
    assert _lookups({}) == "[] <lambda>"  # not asked; ctypes' own function restored afterwards


def test_a_liboqs_the_loader_can_find_is_looked_up_as_usual(tmp_path: pathlib.Path) -> None:
    (tmp_path / "liboqs.so.5").write_bytes(b"")
    assert _lookups({"LD_LIBRARY_PATH": str(tmp_path)}) == "['liboqs', 'oqs'] <lambda>"
