"""Recognisers 2 and 3: a plain-HTTP registry, and image values that give a doubled host or an invalid name."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.diagnose.findings import LOCAL, Severity
from app.diagnose.image_refs import recognise_image_references, reference_problem
from app.diagnose.registry_http import recognise_plain_http_registry

from .diagnose_support import make_config

# The engine's own words (tests/remote reproduces them against this machine's dockerd).
PULL_ERROR = ('Error response from daemon: Get "https://10.77.0.1:5050/v2/": http: server gave HTTP response to '
              'HTTPS client')
BUILDKIT_ERROR = ('ERROR: failed to solve: failed to push 10.77.0.1:5050/group/app:abc: failed to do request: Head '
                  '"https://10.77.0.1:5050/v2/group/app/blobs/sha256:1": http: server gave HTTP response to HTTPS '
                  'client')


def registry_config(tmp_path: Path, **builder):
    return make_config(tmp_path, registry={"server": "10.77.0.1:5050", "username": "u", "password": ["PW"]},
                       image="group/app", builder={"arch": "amd64", **builder})


def test_plain_http_on_a_host(tmp_path: Path) -> None:
    finding = recognise_plain_http_registry(PULL_ERROR, config=registry_config(tmp_path), engine="web1")
    assert (finding.code, finding.host, finding.target) == ("registry.plain_http", "web1", "10.77.0.1:5050")
    assert "dockerd on web1" in finding.title
    assert '"insecure-registries": ["10.77.0.1:5050"]' in finding.fix and "live-restore" in finding.fix
    assert "/etc/docker/certs.d/10.77.0.1:5050/ca.crt" in finding.fix


def test_plain_http_locally_depends_on_the_engine(tmp_path: Path) -> None:
    buildx = recognise_plain_http_registry(BUILDKIT_ERROR, config=registry_config(tmp_path), engine=LOCAL,
                                           during="build", buildkit=True)
    assert "BuildKit" in buildx.title and "kamal-local-docker-container" in buildx.fix
    assert '[registry."10.77.0.1:5050"] http = true' in buildx.fix and buildx.host is None
    classic = recognise_plain_http_registry(BUILDKIT_ERROR, config=registry_config(tmp_path, driver="docker"),
                                            during="push", buildkit=True, environ={})
    assert classic.title.endswith("the local docker engine expects HTTPS") and "daemon.json" in classic.fix
    engine_api = recognise_plain_http_registry(PULL_ERROR, config=registry_config(tmp_path), during="push")
    assert engine_api.title.endswith("the local docker engine expects HTTPS")
    dind = recognise_plain_http_registry(PULL_ERROR, config=registry_config(tmp_path), during="login",
                                         environ={"DOCKER_HOST": "tcp://docker:2376"})
    assert "docker-in-docker" in dind.title and '"--insecure-registry=10.77.0.1:5050"' in dind.fix


def test_plain_http_ignores_other_errors_and_operations(tmp_path: Path) -> None:
    config = registry_config(tmp_path)
    assert recognise_plain_http_registry("manifest unknown", config=config, engine="web1") is None
    with pytest.raises(ValueError):
        recognise_plain_http_registry(PULL_ERROR, config=config, during="healthcheck")
    fallback = recognise_plain_http_registry("http: server gave HTTP response to HTTPS client", config=config)
    assert fallback.target == "10.77.0.1:5050"  # no URL in the text: the configured server


@pytest.mark.parametrize(("reference", "problem"), [
    ("ghcr.io/acme/app:v1", None),
    ("localhost:5000/app:latest", None),
    ("acme/app:" + "a" * 128, None),
    ("registry.example.com/a__b/c-d.e:1.0-x_y", None),
    ("acme/app@sha256:" + "a" * 64, None),
    ("https://ghcr.io/acme/app:1", "a reference has no scheme (http:// or https://)"),
    ("ghcr.io//acme/app:1", "it has an empty path component"),
    ("Acme/App:1", "repository names must be lower-case"),
    ("acme/app:1.0:abc", "it has more than one tag"),
    ("acme/app:-bad", "the tag '-bad' is not valid (up to 128 letters, digits, '_', '.', '-'; not starting with . "
                      "or -)"),
    ("acme/app_:1", "it does not match docker's reference format"),
    ("", "it is empty"),
])
def test_reference_grammar(reference: str, problem: str | None) -> None:
    assert reference_problem(reference) == problem


def codes(findings) -> list[str]:
    return [finding.code for finding in findings]


def test_valid_settings_give_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path, accessories={"db": {"image": "postgres:16", "host": "db1"},
                                                "mirror": {"image": "ghcr.io/acme/tool:2", "host": "db1"}})
    assert recognise_image_references(config) == []


def test_doubled_registry_host(tmp_path: Path) -> None:
    findings = recognise_image_references(make_config(tmp_path, image="registry.example.com/acme/app"))
    assert codes(findings) == ["image.doubled_registry"]
    assert findings[0].fix == "Set image: acme/app" and findings[0].target == "image"
    assert "registry.example.com/registry.example.com/acme/app" in findings[0].what


def test_registry_written_with_a_scheme(tmp_path: Path) -> None:
    config = make_config(tmp_path, registry={"server": "https://ghcr.io/", "username": "u", "password": ["PW"]})
    findings = recognise_image_references(config)
    assert codes(findings) == ["image.registry_server_form"] and findings[0].fix == "Set registry/server: ghcr.io"


def test_host_in_image_without_or_with_another_server(tmp_path: Path) -> None:
    hub = make_config(tmp_path, image="ghcr.io/acme/app", registry={"username": "u", "password": ["PW"]})
    [finding] = recognise_image_references(hub)
    assert finding.code == "image.registry_in_image" and finding.severity is Severity.WARNING
    assert finding.fix == "Set registry/server: ghcr.io and image: acme/app"
    other = recognise_image_references(make_config(tmp_path, image="ghcr.io/acme/app"))
    assert codes(other) == ["image.two_registries"] and "Either set image: acme/app" in other[0].fix


def test_tag_and_capitals_in_image(tmp_path: Path) -> None:
    [tag] = recognise_image_references(make_config(tmp_path, image="acme/app:latest"))
    assert tag.code == "image.tag_in_image" and tag.fix == "Set image: acme/app"
    [upper] = recognise_image_references(make_config(tmp_path, image="Acme/MyApp"))
    assert upper.code == "image.upper_case" and upper.fix == "Set image: acme/myapp"


def test_invalid_version_tag_and_accessory_registry(tmp_path: Path) -> None:
    [bad] = recognise_image_references(make_config(tmp_path, version="feature/login"))
    assert bad.code == "image.invalid_reference" and "registry.example.com/acme/app:feature/login" in bad.what
    accessory = make_config(tmp_path, accessories={"db": {
        "image": "ghcr.io/acme/pg:16", "host": "db1",
        "registry": {"server": "ghcr.io", "username": "u", "password": ["PW"]}}})
    [doubled] = recognise_image_references(accessory)
    assert doubled.code == "image.doubled_registry" and doubled.fix == "Set accessories/db/image: acme/pg:16"
