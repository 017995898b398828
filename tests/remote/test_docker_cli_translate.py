"""`docker run` translation without an engine: fallbacks, CLI-worded errors, field details."""

from __future__ import annotations

import pytest

from app.remote.docker_errors import DockerCommandError, NotTranslatable
from app.remote.docker_run import RunOverSSH, RunRequest, plan_run, translate_run_command
from app.remote.docker_streams import since_parameter
from app.remote.docker_values import duration_ns, nano_cpus, ram_in_bytes

HOME = "/home/deploy"
ENV_FILE = ".kamal/apps/app/env/roles/web.env"


def _body(command: str, env_files: dict[str, str] | None = None) -> dict:
    return translate_run_command(command, HOME, env_files or {}).body


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("docker run --gpus all img", "--gpus is left to the docker CLI"),
        ("docker run --cidfile /tmp/x img", "--cidfile is left to the docker CLI"),
        ("docker run --blkio-weight 10 img", "untranslated docker run flag --blkio-weight"),
        ("docker run -x img", "untranslated docker run flag -x"),
        ("docker run -e FROM_CLIENT_ENV img", "without a value"),
        ("docker run --env-file other.env img", "contents of the env file other.env were not given"),
        ("docker run --network a --network b img", "several --network flags"),
        ("docker run -p published=80,target=8080 img", "long `--publish"),
        ("docker run --security-opt seccomp=/etc/profile.json img", "seccomp"),
        ("docker run --mount type=image,source=x,target=/x img", "type=image"),
        ("docker ps --all", "not a `docker run` command"),
        ("docker run $(cat .kamal/proxy/options) img", "command substitution"),
    ],
)
def test_untranslatable_commands_are_refused_with_a_reason(command: str, reason: str) -> None:
    with pytest.raises(NotTranslatable) as refused:
        translate_run_command(command, HOME, {})
    assert reason in refused.value.reason


def test_plan_run_states_the_fallback_decision_explicitly() -> None:
    direct = plan_run('docker run --detach --name app-web-1 --env A="b" img', HOME, {})
    assert isinstance(direct, RunRequest) and direct.body["Env"] == ["A=b"]
    fallback = plan_run("docker run --detach --env A=$SECRET img", HOME, {})
    assert fallback == RunOverSSH("docker run --detach --env A=$SECRET img",
                                  "the expansion '$SECRET' depends on the remote shell (only $PWD and $HOME are known)")
    with pytest.raises(DockerCommandError):
        plan_run("docker run --memory lots img", HOME, {})


def test_an_env_value_without_a_name_is_not_echoed() -> None:
    with pytest.raises(DockerCommandError) as failed:
        _body("docker run -e =hunter2 img")
    assert "hunter2" not in str(failed.value)


def test_env_options_keep_one_value_per_name_after_the_env_file_lines() -> None:
    body = _body(f"docker run --env-file {ENV_FILE} -e A=1 -e B=2 -e A=3 img", {ENV_FILE: "A=file\nA=file2\n"})
    assert body["Env"] == ["A=file", "A=file2", "A=3", "B=2"]


def test_env_file_lines_without_a_value_fall_back() -> None:
    with pytest.raises(NotTranslatable) as refused:
        _body(f"docker run --env-file {ENV_FILE} img", {ENV_FILE: "A=1\nFROM_ENV\n"})
    assert refused.value.reason.startswith(f"{ENV_FILE}:2: FROM_ENV")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("docker run --memory lots img", 'invalid argument "lots" for "-m, --memory" flag: invalid size: \'lots\''),
        ("docker run --restart sometimes img", "invalid restart policy: sometimes"),
        ("docker run --rm --restart always img", "cannot specify both --restart and --rm"),
        ("docker run -p 80:http img", "invalid containerPort: http"),
        ("docker run -p 1-2:3-5 img", "invalid ranges specified for container and host Ports: 3-5 and 1-2"),
        ("docker run --health-interval 5 img", 'time: invalid duration "5"'),
        ("docker run --no-healthcheck --health-cmd true img", "--no-healthcheck conflicts with --health-* options"),
        ("docker run --add-host db:not-an-ip img", "invalid IP address in add-host"),
        ("docker run --network-alias x img", "only supported for user-defined networks"),
        ("docker run --ulimit nofile=10:5 img", "soft limit must be less than or equal to hard limit"),
        ("docker run --pull sometimes img", "invalid pull option: 'sometimes'"),
        ("docker run --detach", '"docker run" requires at least 1 argument.'),
        ("docker run --name", "flag needs an argument: --name"),
    ],
)
def test_bad_values_fail_with_the_cli_wording(command: str, message: str) -> None:
    with pytest.raises(DockerCommandError) as failed:
        translate_run_command(command, HOME, {})
    assert message in str(failed.value)


def test_env_file_errors_name_the_line_but_never_its_text() -> None:
    with pytest.raises(DockerCommandError) as failed:
        _body(f"docker run --env-file {ENV_FILE} img", {ENV_FILE: "GOOD=1\nhunter2 secret=x\n"})
    assert str(failed.value) == f"{ENV_FILE}:2: the variable name contains whitespace"


def test_kamal_app_container_fields() -> None:
    env_text = "\ufeffSECRET=s3cr3t with spaces\n# comment\n\n  PADDED=\"kept verbatim\"\r\nDOLLAR=$NOT_EXPANDED\n"
    request = translate_run_command(
        "docker run --detach --restart unless-stopped --name app-web-999 --network kamal --hostname h-0a1b2c3d4e5f "
        '--env KAMAL_CONTAINER_NAME="app-web-999" --env K="v \\$x" '
        f'--env-file {ENV_FILE} --log-opt max-size="10m" --volume $PWD/app-db/data:/data -v ./rel:/rel '
        '--label service="app" --label role="web" --label destination --memory "2g" dhh/app:999 bin/jobs',
        HOME, {f"{HOME}/{ENV_FILE}": env_text})
    body = request.body
    assert (request.name, request.image, request.detach) == ("app-web-999", "dhh/app:999", True)
    assert body["Env"] == ["SECRET=s3cr3t with spaces", 'PADDED="kept verbatim"', "DOLLAR=$NOT_EXPANDED",
                           "KAMAL_CONTAINER_NAME=app-web-999", "K=v $x"]
    assert body["Labels"] == {"service": "app", "role": "web", "destination": ""}
    assert body["HostConfig"]["Binds"] == [f"{HOME}/app-db/data:/data", f"{HOME}/rel:/rel"]
    assert body["HostConfig"]["LogConfig"] == {"Config": {"max-size": "10m"}, "Type": ""}
    assert body["HostConfig"]["RestartPolicy"] == {"MaximumRetryCount": 0, "Name": "unless-stopped"}
    assert body["HostConfig"]["NetworkMode"] == "kamal"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {}}
    assert body["HostConfig"]["Memory"] == 2 * 1024**3
    assert body["Cmd"] == ["bin/jobs"]
    assert (body["AttachStdout"], body["AttachStderr"], body["Hostname"]) == (False, False, "h-0a1b2c3d4e5f")


def test_publish_specs_become_exposed_ports_and_bindings() -> None:
    body = _body("docker run -p 80:80 -p 127.0.0.1:443:443 -p '[::1]:9090:90/udp' -p 7000-7001:7000 "
                 "-p 8000-8001:9000-9001 -p 8080:80 --expose 5000-5001 img")
    exposed = ["80/tcp", "443/tcp", "90/udp", "7000/tcp", "9000/tcp", "9001/tcp", "5000/tcp", "5001/tcp"]
    assert body["ExposedPorts"] == {port: {} for port in exposed}
    assert body["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "80"}, {"HostIp": "", "HostPort": "8080"}],
        "443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "443"}],
        "90/udp": [{"HostIp": "::1", "HostPort": "9090"}],
        "7000/tcp": [{"HostIp": "", "HostPort": "7000-7001"}],
        "9000/tcp": [{"HostIp": "", "HostPort": "8000"}],
        "9001/tcp": [{"HostIp": "", "HostPort": "8001"}],
    }


def test_combined_short_flags_and_attached_modes() -> None:
    request = translate_run_command("docker run -it --rm -eA=1 -p8080:80 img sh", HOME, {})
    assert (request.interactive, request.tty, request.auto_remove, request.detach) == (True, True, True, False)
    body = request.body
    assert (body["AttachStdin"], body["OpenStdin"], body["StdinOnce"], body["Tty"]) == (True, True, True, True)
    assert body["Env"] == ["A=1"]
    assert body["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}


def test_value_parsers() -> None:
    assert ram_in_bytes("1.5g") == 1536 * 1024**2
    assert ram_in_bytes("10MB") == 10 * 1024**2
    assert nano_cpus("0.25") == 250_000_000
    assert duration_ns("1m30s") == 90 * 10**9
    assert duration_ns("250ms") == 250 * 10**6
    with pytest.raises(ValueError, match="too precise"):
        nano_cpus("0.0000000001")
    assert since_parameter("10m", now=1_000_000.0) == "999400"
    assert since_parameter("1700000000") == "1700000000"
    assert since_parameter("2024-01-02T03:04:05Z") == "1704164645.000000000"
