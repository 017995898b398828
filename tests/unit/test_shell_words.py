"""The shell word splitter against the real shells, and the constructs it must refuse."""

from __future__ import annotations

import subprocess

import pytest

from app.remote.docker_errors import NotTranslatable
from app.remote.shell_words import split_words

HOME = "/home/deploy"

# Kamal-style fragments (escape_shell_value output, raw volumes, $PWD paths) and shell corner cases.
TRANSLATABLE = [
    'docker run --detach --name app-web-999 --env KAMAL_CONTAINER_NAME="app-web-999" dhh/app:999',
    '--env K="v with \\"quotes\\" and \\\\ backslash" --label destination',
    '--env DUMP="line\\nbreak \\#{not interpolated} \\$HOME \\`tick\\`"',
    "--env SINGLE='it''s $HOME `raw`' --env MIXED=a\"b c\"'d e'f",
    "--volume $PWD/app-db/data:/var/lib/postgresql/data --volume ${PWD}/x:/x --volume ${HOME}/y:/y",
    "--volume $HOME/.kamal/apps/app/assets/volumes/web-1:/rails/public/assets",
    "--mount ~/data:/data --mount ~ --workdir /a~b",
    'escaped\\ space \\"dq\\" \\\'sq\\\' back\\\\slash',
    "line\\\ncontinued  tabs\tand  spaces\n",
    '"" \'\' empty-args',
    '--publish 80:80 --publish 127.0.0.1:443:443 --log-opt max-size=10m --env A="ünïcödé ✓"',
    '"$PWD" "${HOME}/z" "dq keeps \\a \\b backslashes" "$PWD$HOME"',
    '--label traefik.http.routers.app.rule="Host(\\`example.com\\`)"',
]


def _shell_words(shell: str, command: str) -> list[str]:
    """What `shell` passes to a program for `prog <command>`, run in HOME like Kamal's commands."""
    script = f"cd {HOME} 2>/dev/null || true; export PWD={HOME} HOME={HOME}; printf '%s\\0' {command}"
    result = subprocess.run([shell, "-c", script], capture_output=True, check=True)
    return result.stdout.decode().split("\0")[:-1]


@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash"])
@pytest.mark.parametrize("command", TRANSLATABLE)
def test_words_match_the_real_shell(shell: str, command: str) -> None:
    assert split_words(command, HOME) == _shell_words(shell, command)


def test_kamal_app_run_command_is_split_into_its_argv() -> None:
    command = ('docker run --detach --restart unless-stopped --name app-web-999 --env KAMAL_HOST="1.1.1.1" '
               '--env-file .kamal/apps/app/env/roles/web.env --volume $PWD/app-db/data:/data '
               '--label service="app" --label destination --memory "2g" dhh/app:999 bin/jobs')
    assert split_words(command, "/root/") == [
        "docker", "run", "--detach", "--restart", "unless-stopped", "--name", "app-web-999",
        "--env", "KAMAL_HOST=1.1.1.1", "--env-file", ".kamal/apps/app/env/roles/web.env",
        "--volume", "/root/app-db/data:/data", "--label", "service=app", "--label", "destination",
        "--memory", "2g", "dhh/app:999", "bin/jobs"]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("docker ps | head -1", "operator '|'"),
        ("docker network create kamal && echo ok", "operator '&'"),
        ("docker stop a; docker rm a", "operator ';'"),
        ("docker logs app 2>&1", "operator '>'"),
        ("docker run $(cat .kamal/proxy/options) img", "command substitution"),
        ("docker run `cat opts` img", "backticks"),
        ('docker run --env A="$(id -u)" img', "command substitution"),
        ('docker run --env A="`id -u`" img', "backticks"),
        ("docker run --env A=$SECRET img", "'$SECRET'"),
        ('docker run --env A="${DATABASE_URL}" img', "'${DATABASE_URL}'"),
        ("docker run --env A=${HOME:-x} img", "${HOME:-x}"),
        ("docker run --env A=$PWDX img", "'$PWDX'"),
        ("docker run -v *.conf:/etc img", "pathname expansion"),
        ("docker run --publish [::1]:80:80 img", "pathname expansion"),
        ("docker run --env A={a,b} img", "braces"),
        ("docker run img # comment", "comment"),
        ("docker run ~deploy/x img", "~user"),
        ("docker run --volume=~/x:/x img", "tilde"),
        ("docker run img\ndocker ps", "newline between commands"),
        ("docker run 'unterminated", "unterminated single quote"),
        ('docker run "unterminated', "unterminated double quote"),
        ("docker run trailing\\", "backslash at the end"),
    ],
)
def test_constructs_that_need_the_remote_shell_are_refused(command: str, reason: str) -> None:
    with pytest.raises(NotTranslatable) as refused:
        split_words(command, HOME)
    assert reason in refused.value.reason
    assert str(refused.value).startswith("not translatable to the Docker Engine API: ")


def test_quoted_operators_and_globs_are_plain_text() -> None:
    assert split_words("a '|' \"&&\" '*' \"[x]\" 'a;b' \\> \\*", HOME) == ["a", "|", "&&", "*", "[x]", "a;b", ">", "*"]
