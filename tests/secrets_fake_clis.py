"""Stand-in password-manager CLIs (`op`, `bw`, `bws`, `lpass`, `gcloud`, `enpass-cli`, `passbolt`, ...)
for the secrets adapter tests.

One Python script, linked under every CLI's name, logs each call (its name, argv and BW_SESSION) and
answers from a list of canned responses matched on the exact argv: the stdout the real CLI documents
and an exit status. An unmatched call prints nothing and exits 0. The same stand-ins serve the unit
tests (shipdeck in-process) and the interop tests (real Kamal 2.11 and shipdeck as processes), so the
recorded calls of both tools can be compared.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

FAKE_CLI = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
env = {{k: os.environ[k] for k in ("BW_SESSION",) if k in os.environ}}
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"cli": name, "argv": sys.argv[1:], "env": env}}) + "\\n")
for entry in json.load(open(os.environ["FAKE_RESPONSES"])):
    wanted_env = entry.get("env", {{}})
    if entry["cli"] == name and entry["argv"] == sys.argv[1:] and all(env.get(k) == v for k, v in wanted_env.items()):
        out = entry.get("stdout", "")
        sys.stdout.write(out if isinstance(out, str) else json.dumps(out))
        sys.exit(entry.get("exit", 0))
sys.exit(0)
"""

CLIS = ("op", "bw", "aws", "doppler", "bws", "lpass", "gcloud", "enpass-cli", "passbolt")


class FakeClis:
    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "log.jsonl"
        self.responses_file = root / "responses.json"
        self.responses: list[dict] = []
        script = self.bin / "fakecli"
        script.write_text(FAKE_CLI.format(python=sys.executable))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        for name in CLIS:
            (self.bin / name).symlink_to(script)

    def answer(self, cli: str, argv: list[str], stdout: object = "", exit: int = 0, env: dict | None = None) -> None:
        self.responses.append({"cli": cli, "argv": argv, "stdout": stdout, "exit": exit, "env": env or {}})

    def remove(self, cli: str) -> None:
        (self.bin / cli).unlink()

    def environ(self, **extra: str) -> dict[str, str]:
        """PATH holds only the stand-ins, so a CLI installed on this machine (gcloud) is never run."""
        self.responses_file.write_text(json.dumps(self.responses))
        return {"PATH": str(self.bin), "FAKE_LOG": str(self.log), "FAKE_RESPONSES": str(self.responses_file),
                **extra}

    def calls(self) -> list[tuple]:
        if not self.log.exists():
            return []
        entries = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [(e["cli"], *e["argv"]) + ((e["env"],) if e["env"] else ()) for e in entries]

    def clear_calls(self) -> None:
        self.log.unlink(missing_ok=True)
