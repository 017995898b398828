"""Where a headless run is: which CI system (GitLab, GitHub Actions, another, none) and whether to colour.

Detection reads only the environment and whether stdout is a terminal, so it is cheap and testable.
Colour follows the conventions CI logs and terminals agree on: `NO_COLOR` (any non-empty value) turns it
off; `FORCE_COLOR` or `CLICOLOR_FORCE` (non-empty, not "0") turn it on; otherwise a known CI log (which
renders ANSI colours without a TTY) or a terminal gets colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class CIKind(StrEnum):
    GITLAB = "gitlab"
    GITHUB = "github"
    OTHER = "other"  # CI=true (or similar) but not a system with its own log commands
    NONE = "none"  # not in CI


@dataclass(frozen=True)
class CIEnvironment:
    kind: CIKind
    colour: bool
    job_url: str | None = None

    @property
    def in_ci(self) -> bool:
        return self.kind is not CIKind.NONE


_TRUE = ("1", "true", "yes")


def _set(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in _TRUE


def ci_kind(env: Mapping[str, str]) -> CIKind:
    """GitLab sets GITLAB_CI=true (gitlab-ci-local sets it to false but sets CI_JOB_ID and CI_SERVER*)."""
    if _set(env, "GITLAB_CI") or ("CI_JOB_ID" in env and ("CI_PROJECT_DIR" in env or "CI_SERVER_URL" in env)):
        return CIKind.GITLAB
    if _set(env, "GITHUB_ACTIONS"):
        return CIKind.GITHUB
    if _set(env, "CI") or "BUILD_NUMBER" in env or "BUILDKITE" in env or "TEAMCITY_VERSION" in env:
        return CIKind.OTHER
    return CIKind.NONE


def colour_wanted(env: Mapping[str, str], *, isatty: bool, kind: CIKind | None = None) -> bool:
    if env.get("NO_COLOR"):
        return False
    for name in ("FORCE_COLOR", "CLICOLOR_FORCE"):
        value = env.get(name)
        if value is not None and value not in ("", "0", "false"):
            return True
    kind = ci_kind(env) if kind is None else kind
    return isatty or kind in (CIKind.GITLAB, CIKind.GITHUB)


def detect(env: Mapping[str, str], *, isatty: bool) -> CIEnvironment:
    kind = ci_kind(env)
    job_url = env.get("CI_JOB_URL") if kind is CIKind.GITLAB else None
    if kind is CIKind.GITHUB and env.get("GITHUB_SERVER_URL") and env.get("GITHUB_REPOSITORY"):
        job_url = f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"
    return CIEnvironment(kind=kind, colour=colour_wanted(env, isatty=isatty, kind=kind), job_url=job_url)
