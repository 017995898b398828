"""Random deploy.yml files never cause an internal error: each loads, or is refused with a ConfigError.

Three generators: raw bytes; random YAML texts built from fragments that stress the loader (anchors,
tags, merge keys, odd scalars, tabs, flow collections, ERB tags); and random values placed under the
keys Kamal validates, so validation and the `kamal config` output are exercised too. Shell-outs in
generated ERB cannot run anything: PATH is empty and the project is a fresh directory.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import load_config
from app.config.output import kamal_config, to_json, to_yaml
from app.errors import ConfigError, UsageError

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENVIRON = {"PATH": "/nonexistent-shipdeck-fuzz"}
BASE = {"service": "app", "image": "acme/app", "servers": ["192.0.2.1"],
        "registry": {"username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]}, "builder": {"arch": "amd64"}}
# FUZZ_EXAMPLES=5000 for a longer hunt.
SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def check(data: bytes) -> None:
    """Load `data` as config/deploy.yml the way `shipdeck config` does; only clean refusals may happen."""
    with tempfile.TemporaryDirectory() as directory:
        project = pathlib.Path(directory)
        (project / "config").mkdir()
        (project / "config" / "deploy.yml").write_bytes(data)
        try:
            config = load_config(cwd=directory, environ=ENVIRON, version="fuzz")
        except (ConfigError, UsageError) as error:
            assert error.exit_code == 2
            assert "Traceback" not in str(error) and "internal error" not in str(error)
            return
        data_out = kamal_config(config)
        assert to_yaml(data_out).startswith("---\n")
        to_json(data_out)


SCALARS = st.sampled_from([
    "0x_", "0b_", "0,", "0_", "1:20", "!!int 1:20", "!!float .inf", "!!float abc", "!!str 1", ".e+5", "1e5",
    "5.0e-05", ":sym", "'<<'", "<<", "y", "~", "null", "2024-02-30", "2024-01-01 10:00:00 +01:00", "\t", "é",
    '"a\\tb"', "*a", "&a x", "&a [1]", "!ruby/object:X {}", "!!binary aGk=", "[a?b]", "{a: b}", "[]", "{}",
    "<%= ENV['X'] %>", "<%= `x` %>", "<% if true %>", "<% end %>", "<%", "%>", "#", "---", "...", "? x", "- ",
    "|", ">", "\x00", "\ufeff", "-- -", "@", "`", "%YAML 1.2", "%TAG ! tag:x,2000:", "!!set {a}", "${X}",
])
KEYS = st.sampled_from(["service", "image", "servers", "registry", "builder", "env", "proxy", "ssh", "accessories",
                        "<<", ":arch", "x-a", "arch", "clear", "secret", "hosts", "port", "logging", "options",
                        "labels", "web", "volumes", "aliases", "boot", "sshkit", "hooks_output", "2024-01-01",
                        "1", "true", "~"])


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 14))):
        indent = "  " * draw(st.integers(0, 3))
        kind = draw(st.integers(0, 3))
        if kind == 0:
            lines.append(f"{indent}{draw(KEYS)}: {draw(SCALARS)}")
        elif kind == 1:
            lines.append(f"{indent}- {draw(SCALARS)}")
        elif kind == 2:
            lines.append(f"{indent}{draw(KEYS)}:")
        else:
            lines.append(draw(SCALARS))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


LEAVES = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12)
          | st.sampled_from(["web", "amd64", "192.0.2.1", "KAMAL_REGISTRY_PASSWORD", "quiet", "ssl", "host", "<<"]))
VALUES = st.deferred(lambda: LEAVES | st.lists(VALUES, max_size=4)
                     | st.dictionaries(KEYS | st.text(max_size=6), VALUES, max_size=4))


SCALAR_VALUES = (st.none() | st.booleans() | st.integers(-5, 70000) | st.floats(allow_nan=False, width=32)
                 | st.text(max_size=10)
                 | st.sampled_from(["5.0e-05", "web", "a.example.com", "KAMAL_REGISTRY_PASSWORD"]))
NAMES = st.sampled_from(["web", "jobs", "db", "redis", "A", "B_2"])
HOSTS = st.lists(st.sampled_from(["192.0.2.1", "192.0.2.2", "127.0.0.1:1", "u@h", "h"]), min_size=1, max_size=3)
SECTIONS = {
    "env": st.dictionaries(NAMES, SCALAR_VALUES, max_size=3)
    | st.fixed_dictionaries({"clear": st.dictionaries(NAMES, SCALAR_VALUES, max_size=3),
                             "secret": st.lists(st.sampled_from(["KAMAL_REGISTRY_PASSWORD", "A:B"]), max_size=2)}),
    "servers": HOSTS | st.dictionaries(NAMES, HOSTS | st.fixed_dictionaries(
        {"hosts": HOSTS}, optional={"cmd": st.text(max_size=8), "proxy": st.booleans(),
                                    "options": st.dictionaries(NAMES, SCALAR_VALUES, max_size=2)}),
        min_size=1, max_size=3),
    "proxy": st.fixed_dictionaries({}, optional={
        "host": st.sampled_from(["a.example.com", "a.example.com,b.example.com"]), "ssl": st.booleans(),
        "app_port": st.integers(1, 9000), "healthcheck": st.fixed_dictionaries({}, optional={
            "path": st.just("/up"), "interval": st.integers(1, 9)}),
        "buffering": st.fixed_dictionaries({}, optional={"requests": st.booleans(), "memory": st.integers(0, 9)})}),
    "ssh": st.fixed_dictionaries({}, optional={
        "user": st.text(max_size=6), "port": st.integers(0, 70000) | st.sampled_from(["ssh", "2222", "twenty-two"]),
        "proxy": st.sampled_from(["jump", "u@jump"]), "key_data": st.lists(st.text(max_size=6), max_size=2),
        "log_level": st.sampled_from(["debug", ":debug"]), "keys_only": st.booleans()}),
    "logging": st.fixed_dictionaries({}, optional={"driver": st.text(max_size=6),
                                                   "options": st.dictionaries(NAMES, SCALAR_VALUES, max_size=3)}),
    "accessories": st.dictionaries(NAMES, st.fixed_dictionaries(
        {"image": st.sampled_from(["postgres:16", "redis"]), "host": st.just("192.0.2.3")},
        optional={"port": st.integers(1, 9999) | st.just("127.0.0.1:5432:5432"),
                  "env": st.fixed_dictionaries({}, optional={"clear": st.dictionaries(NAMES, SCALAR_VALUES)}),
                  "options": st.dictionaries(NAMES, SCALAR_VALUES, max_size=2),
                  "volumes": st.lists(st.text(max_size=8), max_size=2)}), max_size=2),
    "builder": st.fixed_dictionaries({"arch": st.sampled_from(["amd64", "arm64"]) | st.just(["amd64", "arm64"])},
                                     optional={"args": st.dictionaries(NAMES, VALUES, max_size=3),
                                               "remote": st.just("ssh://b"), "context": st.just(".")}),
    "volumes": st.lists(st.text(max_size=8), max_size=2),
    "labels": st.dictionaries(NAMES, SCALAR_VALUES, max_size=2),
    "retain_containers": st.integers(-1, 9),
    "hooks_output": st.sampled_from(["quiet", "verbose", "loud"]),
}


@st.composite
def configs(draw: st.DrawFn) -> str:
    config = dict(BASE)
    for key in draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=4)):
        config[key] = draw(SECTIONS[key])
    for key in draw(st.lists(KEYS, max_size=1)):
        config[key] = draw(VALUES)
    return yaml.safe_dump(config, allow_unicode=True)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    check(data)


@SETTINGS
@given(yaml_texts())
def test_random_yaml_texts(text: str) -> None:
    check(text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(configs())
def test_random_values_under_kamals_keys(text: str) -> None:
    check(text.encode("utf-8"))


@settings(max_examples=12, deadline=None)
@given(st.one_of(yaml_texts().map(lambda text: text.encode("utf-8", "surrogatepass")), st.binary(max_size=200)))
def test_the_cli_never_reports_an_internal_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        (pathlib.Path(directory) / "config").mkdir()
        (pathlib.Path(directory) / "config" / "deploy.yml").write_bytes(data)
        result = subprocess.run([sys.executable, "-m", "app", "config", "--version", "fuzz"], cwd=directory,
                                env={**ENVIRON, "PYTHONPATH": str(ROOT), "HOME": directory}, capture_output=True,
                                text=True, timeout=60)
    assert result.returncode in (0, 2), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    if result.returncode == 2:
        assert result.stderr.startswith("shipdeck: ") and result.stderr.count("\n") == 1


def test_the_generators_reach_valid_configs_too() -> None:
    # Without this, a generator that only made broken files would test nothing past the parser.
    check(yaml.safe_dump(BASE).encode())
    with tempfile.TemporaryDirectory() as directory:
        (pathlib.Path(directory) / "config").mkdir()
        (pathlib.Path(directory) / "config" / "deploy.yml").write_text(yaml.safe_dump(BASE))
        assert load_config(cwd=directory, environ=ENVIRON, version="fuzz").service == "app"
    assert os.path.isdir(ROOT / "app")
