"""The log view's logic loads without the UI, so the CLI's `logs` command can share it."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_log_logic_does_not_load_textual_or_the_network_stack() -> None:
    code = "import sys, app.logview.view, app.logview.save; print('\\n'.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                                check=True).stdout.split())
    assert "app.logview.view" in loaded
    for heavy in ("textual", "rich", "asyncssh", "aiodocker"):
        assert heavy not in loaded
