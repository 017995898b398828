"""Recogniser 3: image and registry values that give a doubled registry host or an invalid reference.

Kamal builds the app's image name as `<registry.server>/<image>:<version>` (an accessory's as
`<its registry.server>/<image>`), so a host written in both places, a scheme, a tag in `image` or an
upper-case letter turns into a reference docker refuses or a push to the wrong place. Caught from the
config alone, before any network, with the corrected value.

The reference grammar is Docker's (distribution/reference): lower-case path components joined by `.`,
`_`, `__` or dashes; an optional `host[:port]` first; a tag of at most 128 word characters, dots and
dashes; a name of at most 255 characters. A first component is a registry host when it holds a `.` or
`:`, is `localhost`, or has upper-case letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.config.model import Config
from app.diagnose.findings import Finding, Severity

_ALNUM = r"[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
                        rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
MAX_NAME_LENGTH = 255


def reference_problem(reference: str) -> str | None:
    """Why docker would refuse `reference`, or None when it is valid."""
    if not reference:
        return "it is empty"
    if reference != reference.strip():
        return "it has spaces around it"
    found = _REFERENCE.fullmatch(reference)
    if found is not None:
        return f"the name is longer than {MAX_NAME_LENGTH} characters" if len(found["name"]) > MAX_NAME_LENGTH \
            else None
    if _SCHEME.match(reference):
        return "a reference has no scheme (http:// or https://)"
    if "//" in reference or reference.endswith("/"):
        return "it has an empty path component"
    name, tag = split_tag(reference)
    _, path = host_and_path(name)
    if path != path.lower():
        return "repository names must be lower-case"
    if tag and tag.startswith(":") and not re.fullmatch(_TAG, tag[1:]):
        return f"the tag {tag[1:]!r} is not valid (up to 128 letters, digits, '_', '.', '-'; not starting with . or -)"
    if tag and ":" in name.partition("/")[2]:
        return "it has more than one tag"
    return "it does not match docker's reference format"


def first_component_is_host(name: str) -> bool:
    """Docker's rule for where the registry host ends and the repository begins."""
    first, slash, _ = name.partition("/")
    return bool(slash) and (any(char in first for char in ".:") or first == "localhost" or first != first.lower())


def host_and_path(name: str) -> tuple[str | None, str]:
    """The registry host someone wrote at the front of `name` (with a `.` or `:`, or `localhost`), and the rest.

    Stricter than docker's rule, which also takes an upper-case first component for a host: `Acme/App` is a
    repository written in capitals, not a registry called Acme.
    """
    first, slash, rest = name.partition("/")
    if slash and (any(char in first for char in ".:") or first == "localhost"):
        return first, rest
    return None, name


def split_tag(image: str) -> tuple[str, str | None]:
    """`name`, and the `:tag` / `@digest` part written into `image` (None when there is none)."""
    at = image.find("@")
    if at >= 0:
        return image[:at], image[at:]
    slash, colon = image.rfind("/"), image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon:]
    return image, None


@dataclass(frozen=True)
class _Values:
    """One image setting and the registry server in front of it, named as in the config."""

    image: str
    server: str | None
    image_key: str  # "image", "accessories/db/image", "proxy/run/repository"
    server_key: str  # "registry/server", "accessories/db/registry/server", "proxy/run/registry"
    tag_allowed: bool  # accessories and the proxy image carry their own tag; the app's comes from the version


def _finding(code: str, title: str, what: str, why: str, fix: str, target: str,
             severity: Severity = Severity.ERROR) -> Finding:
    return Finding(code=code, title=title, what=what, why=why, fix=fix, target=target, severity=severity)


def _server_findings(values: _Values) -> tuple[list[Finding], str | None]:
    server = values.server
    if server is None:
        return [], None
    fixed = _SCHEME.sub("", server).rstrip("/")
    if fixed == server:
        return [], server
    return [_finding(
        "image.registry_server_form", f"{values.server_key} is not a bare host",
        what=f"{values.server_key} is {server!r}, so the image becomes {server}/{values.image}.",
        why="The registry server is written in front of the image name as it is; a reference has no scheme "
            "and no trailing slash.",
        fix=f"Set {values.server_key}: {fixed}", target=values.server_key)], fixed


def _host_in_image(values: _Values, server: str | None) -> list[Finding]:
    image = values.image
    host, rest = host_and_path(image)
    if host is None:
        return []
    if server is not None and host.lower() == server.lower():
        return [_finding(
            "image.doubled_registry", f"The registry host is written twice in {values.image_key}",
            what=f"{values.image_key} already starts with {host}, and {values.server_key} adds it again: "
                 f"{server}/{image}.",
            why=f"Kamal puts {values.server_key} in front of {values.image_key}.",
            fix=f"Set {values.image_key}: {rest}", target=values.image_key)]
    if server is not None:
        return [_finding(
            "image.two_registries", f"{values.image_key} names a registry host other than {values.server_key}",
            what=f"{values.image_key} starts with {host} while {values.server_key} is {server}: the image becomes "
                 f"{server}/{image}, a repository on {server}.",
            why=f"Kamal puts {values.server_key} in front of {values.image_key}; {host} is then a path component.",
            fix=f"Either set {values.image_key}: {rest} (to push to {server}), or set {values.server_key}: {host} "
                f"and {values.image_key}: {rest} (to push to {host}).", target=values.image_key)]
    if host.lower() in DOCKER_HUB_HOSTS or values.tag_allowed:
        return []
    return [_finding(
        "image.registry_in_image", f"{values.image_key} names {host} but {values.server_key} is not set",
        what=f"The image is pushed to {host}, but the registry login goes to Docker Hub.",
        why=f"Without {values.server_key}, Kamal logs in to Docker Hub; the push to {host} then has no "
            "credentials.",
        fix=f"Set {values.server_key}: {host} and {values.image_key}: {rest}", target=values.image_key,
        severity=Severity.WARNING)]


def _tag_in_image(values: _Values) -> list[Finding]:
    name, tag = split_tag(values.image)
    if values.tag_allowed or tag is None:
        return []
    return [_finding(
        "image.tag_in_image", f"{values.image_key} has a tag",
        what=f"{values.image_key} ends in {tag}, and Kamal appends the version as the tag: {values.image}:<version> "
             "is not a valid reference.",
        why="The app's tag is always the version (the git commit, or --version).",
        fix=f"Set {values.image_key}: {name}", target=values.image_key)]


def _upper_case(values: _Values) -> list[Finding]:
    name, _ = split_tag(values.image)
    host, path = host_and_path(name)
    if path == path.lower():
        return []
    fixed = "/".join(part for part in (host, path.lower()) if part) + values.image[len(name):]
    return [_finding(
        "image.upper_case", f"{values.image_key} has upper-case letters",
        what=f"{values.image_key} is {values.image!r}; docker refuses it: repository names must be lower-case.",
        why="Only the registry host may have capitals in a docker reference.",
        fix=f"Set {values.image_key}: {fixed}", target=values.image_key)]


def _check(values: _Values, tags: tuple[str, ...]) -> list[Finding]:
    findings, server = _server_findings(values)
    findings += _host_in_image(values, server) + _tag_in_image(values) + _upper_case(values)
    if findings:
        return findings
    repository = "/".join(part for part in (server, values.image) if part)
    for reference in [repository] if values.tag_allowed else [f"{repository}:{tag}" for tag in tags]:
        problem = reference_problem(reference)
        if problem:
            return [_finding(
                "image.invalid_reference", f"{values.image_key} gives an invalid image reference",
                what=f"The image reference {reference!r} is not valid: {problem}.",
                why="docker refuses the build, push and pull of an invalid reference.",
                fix=f"Correct {values.image_key} (and {values.server_key}) so that the reference matches "
                    "[host[:port]/]path[:tag] with lower-case path components.", target=values.image_key)]
    return []


def _app_tags(config: Config) -> tuple[str, ...]:
    return tuple(tag for tag in (config.version, config.latest_tag) if tag)


def recognise_image_references(config: Config) -> list[Finding]:
    """Findings for the app's image, each accessory's image and the proxy image (config only)."""
    findings = _check(_Values(config.image, config.registry.server, "image", "registry/server", False),
                      _app_tags(config))
    for accessory in config.accessories:
        server = accessory.registry.server if accessory.registry else None
        image = accessory.image.removeprefix(f"{server}/") if server else accessory.image
        findings += _check(_Values(image, server, f"accessories/{accessory.name}/image",
                                   f"accessories/{accessory.name}/registry/server", True), ())
    run = config.proxy.run
    if run is not None:
        findings += _check(_Values(f"{run.repository}:{run.version}", run.registry, "proxy/run/repository",
                                   "proxy/run/registry", True), ())
    return findings
