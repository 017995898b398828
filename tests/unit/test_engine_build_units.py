"""Build: what needs buildx, Kamal's buildx command, the clone directory, .dockerignore and the context tar."""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
from pathlib import Path
from types import SimpleNamespace

import yaml

from app.config import load_config
from app.engine import build, build_context


def make_config(tmp_path: Path, builder: dict | None = None):
    config = {"service": "app", "image": "dhh/app", "servers": ["1.1.1.1"],
              "registry": {"server": "registry.example.com", "username": "dhh", "password": "secret"},
              "builder": builder or {"arch": "amd64"}}
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="123")


def run_for(config) -> SimpleNamespace:
    return SimpleNamespace(config=config)


def test_buildx_command_matches_kamal(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"arch": "amd64", "args": {"RUBY": "3.3"}, "target": "prod"})
    assert " ".join(build.buildx_command(run_for(config))) == (
        "docker buildx build --output=type=registry --platform linux/amd64 --builder kamal-local-docker-container "
        "-t registry.example.com/dhh/app:123 -t registry.example.com/dhh/app:latest --label service=\"app\" "
        "--build-arg RUBY=\"3.3\" --file Dockerfile --target prod .")


def test_a_single_native_arch_builds_through_the_api(tmp_path: Path) -> None:
    assert build.buildx_reasons(run_for(make_config(tmp_path)), "amd64") == []


def test_what_needs_buildx_is_named(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"arch": ["amd64", "arm64"], "cache": {"type": "registry"},
                                    "secrets": ["GITHUB_TOKEN"]})
    reasons = build.buildx_reasons(run_for(config), "amd64")
    assert reasons == ["several architectures (amd64, arm64)", "build cache export (registry)",
                       "build secrets (builder.secrets)"]
    other_arch = make_config(tmp_path, {"arch": "arm64"})
    assert build.buildx_reasons(run_for(other_arch), "amd64") == ["architecture arm64 on a amd64 engine"]


def test_clone_directory_is_kamals(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    digest = hashlib.sha256(str(tmp_path).encode()).hexdigest()[:13]
    assert build_context.clone_directory(config) == f"{tempfile.gettempdir()}/kamal-clones/app-{digest}"


def test_dockerignore_rules(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("# comment\n*.log\n**/tmp\nnode_modules\n!keep.log\n/secret\n")
    patterns = build_context.read_dockerignore(str(tmp_path))
    ignored = {path: build_context.is_ignored(path, patterns) for path in
               ("a.log", "keep.log", "sub/a.log", "x/y/tmp", "x/y/tmp/file", "node_modules/pkg/index.js",
                "secret", "app.py", "tmpfile")}
    assert ignored == {"a.log": True, "keep.log": False, "sub/a.log": False, "x/y/tmp": True, "x/y/tmp/file": True,
                       "node_modules/pkg/index.js": True, "secret": True, "app.py": False, "tmpfile": False}


def test_context_tar_honours_dockerignore_and_keeps_the_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print(1)\n")
    (tmp_path / "debug.log").write_text("x\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("*.log\nDockerfile\n")
    handle, name = build_context.context_tar(str(tmp_path), str(tmp_path / "Dockerfile"))
    with handle, tarfile.open(fileobj=io.BytesIO(handle.read())) as tar:
        names = sorted(tar.getnames())
        owners = {(member.uid, member.gid) for member in tar.getmembers()}
    assert name == "Dockerfile"
    assert names == [".dockerignore", "Dockerfile", "app.py"]
    assert owners == {(0, 0)}


def test_a_dockerfile_outside_the_context_is_added_under_a_random_name(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "a.txt").write_text("a\n")
    (tmp_path / "Dockerfile.prod").write_text("FROM scratch\n")
    handle, name = build_context.context_tar(str(context), str(tmp_path / "Dockerfile.prod"))
    with handle, tarfile.open(fileobj=io.BytesIO(handle.read())) as tar:
        assert name.startswith(".dockerfile.")
        assert tar.extractfile(name).read() == b"FROM scratch\n"


def test_build_args_expand_braced_variables_like_the_local_shell(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RUBY_VERSION", "3.3.1")
    config = make_config(tmp_path, {"arch": "amd64", "args": {"RUBY": "${RUBY_VERSION}", "PLAIN": "a$b", "N": 3}})
    assert build.build_args(run_for(config)) == {"RUBY": "3.3.1", "PLAIN": "a$b", "N": "3"}
