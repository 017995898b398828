"""Ready-to-commit CI pipelines for `shipdeck --auto` (`shipdeck ci gitlab`, `shipdeck ci github`).

One job: a Python image, shipdeck installed with pip, the SSH key from a variable, the servers' host keys
from `SSH_KNOWN_HOSTS` (checked once by a person, never a blind `ssh-keyscan`), then one `shipdeck --auto`
line with its reports wired in. Secrets reach shipdeck straight from the job's environment
(`--secrets-from-env`), so no `.kamal/secrets` has to be written, and every variable the pipeline reads is
documented in a comment at the top.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

PYTHON_IMAGE = "python:3.12-slim"


@dataclass(frozen=True)
class PipelineSpec:
    secret_names: tuple[str, ...] = ("KAMAL_REGISTRY_PASSWORD",)  # what the project's config asks for
    destination: str | None = None
    environment: str = "production"
    branch: str | None = None  # deploy only from this branch (default: the default branch)


def _auto_command(spec: PipelineSpec, *, junit: str, dotenv: str, secret_flags: Sequence[str]) -> str:
    words = ["shipdeck", "--auto", "deploy"]
    if spec.destination:
        words += ["-d", spec.destination]
    words += [*secret_flags, "--junit", junit, "--dotenv", dotenv]
    return " ".join(shlex.quote(word) for word in words)


def _variables_comment(spec: PipelineSpec, prefix: str, raw_hint: str) -> list[str]:
    lines = [
        f"{prefix}Variables this pipeline reads (set them in the CI settings, never in this file):",
        f"{prefix}  SSH_PRIVATE_KEY   the deploy key for the servers' SSH user (the private key text)",
        f"{prefix}  SSH_KNOWN_HOSTS   the servers' host keys: `ssh-keyscan HOST` output you have checked once",
        f"{prefix}                    against the server's own `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub`",
    ]
    for name in spec.secret_names:
        lines.append(f"{prefix}  {name:<17} a secret your config/deploy.yml uses; {raw_hint}")
    lines += [
        f"{prefix}  SHIPDECK_PIP_SPEC (optional) what pip installs instead of `shipdeck` (a version pin, a wheel URL)",
        f"{prefix}shipdeck never prompts here: a step that needs a decision fails with the flag that approves it",
        f"{prefix}(e.g. --allow-proxy-reboot=rolling). Exit codes: 0 done, 1 a step failed, 2 config or usage,",
        f"{prefix}3 connection or authentication, 4 lock held, 5 a confirmation or --allow-* flag is needed, 130",
        f"{prefix}interrupted.",
    ]
    return lines


_SSH_SETUP = [
    'install -d -m 700 "$HOME/.ssh"',
    'printf \'%s\\n\' "$SSH_PRIVATE_KEY" > "$HOME/.ssh/id_deploy" && chmod 600 "$HOME/.ssh/id_deploy"',
    'printf \'%s\\n\' "$SSH_KNOWN_HOSTS" > "$HOME/.ssh/known_hosts" && chmod 644 "$HOME/.ssh/known_hosts"',
    'printf \'Host *\\n  IdentityFile %s\\n  StrictHostKeyChecking yes\\n\' "$HOME/.ssh/id_deploy"'
    ' >> "$HOME/.ssh/config"',
]
_PIP_INSTALL = 'pip install --quiet "${SHIPDECK_PIP_SPEC:-shipdeck}"'


def _yaml_string(text: str) -> str:
    """A YAML double-quoted scalar (always valid, whatever the text holds)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def gitlab(spec: PipelineSpec = PipelineSpec()) -> str:
    """A `.gitlab-ci.yml` with one deploy job (reports: JUnit, dotenv for the environment URL)."""
    secret_flags = [f"--secrets-from-env={name}" for name in spec.secret_names]
    command = _auto_command(spec, junit="shipdeck-junit.xml", dotenv="deploy.env", secret_flags=secret_flags)
    header = _variables_comment(spec, "# ", "mark it Masked if GitLab allows, and clear \"Expand variable reference\"")
    header.insert(0, "# Deploys with shipdeck (Kamal-compatible) in one job.")
    branch = (f'$CI_COMMIT_BRANCH == "{spec.branch}"' if spec.branch
              else "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH")
    lines = [*header, "", "stages:", "  - deploy", "", "deploy:", "  stage: deploy", f"  image: {PYTHON_IMAGE}",
             "  variables:", '    PIP_DISABLE_PIP_VERSION_CHECK: "1"', "  rules:", f"    - if: {_yaml_string(branch)}",
             "  before_script:", f"    - {_yaml_string(_PIP_INSTALL)}"]
    lines += [f"    - {_yaml_string(step)}" for step in _SSH_SETUP]
    lines += ["  script:", f"    - {_yaml_string(command)}", "  artifacts:", "    when: always", "    reports:",
              "      junit: shipdeck-junit.xml", "      dotenv: deploy.env", "  environment:",
              f"    name: {spec.environment}", "    url: $DYNAMIC_ENVIRONMENT_URL", ""]
    return "\n".join(lines)


def github(spec: PipelineSpec = PipelineSpec()) -> str:
    """A `.github/workflows/deploy.yml` with one deploy job (JUnit uploaded as an artifact)."""
    secret_flags = [f"--secrets-from-env={name}" for name in spec.secret_names]
    command = _auto_command(spec, junit="shipdeck-junit.xml", dotenv="deploy.env", secret_flags=secret_flags)
    header = _variables_comment(spec, "# ", "store it as a repository or environment secret")
    header.insert(0, "# Deploys with shipdeck (Kamal-compatible) in one job.")
    branch = spec.branch or "main"
    env_lines = [f"      {name}: ${{{{ secrets.{name} }}}}" for name in
                 ("SSH_PRIVATE_KEY", "SSH_KNOWN_HOSTS", *spec.secret_names)]
    lines = [*header, "", "name: deploy", "", "on:", "  push:", f"    branches: [{_yaml_string(branch)}]", "",
             "jobs:", "  deploy:", "    runs-on: ubuntu-latest", "    environment:", f"      name: {spec.environment}",
             "      url: ${{ steps.deploy.outputs.url }}", "    env:", *env_lines,
             '      SHIPDECK_PIP_SPEC: ${{ vars.SHIPDECK_PIP_SPEC }}', "    steps:",
             "      - uses: actions/checkout@v4", "      - uses: actions/setup-python@v5", "        with:",
             '          python-version: "3.12"', "      - name: Install shipdeck",
             f"        run: {_yaml_string(_PIP_INSTALL)}",
             "      - name: SSH key and known hosts", "        run: |"]
    lines += [f"          {step}" for step in _SSH_SETUP]
    lines += ["      - name: Deploy", "        id: deploy", "        run: |", f"          {command}",
              '          grep -E "^SHIPDECK_URL=" deploy.env | sed "s/^SHIPDECK_URL=/url=/" >> "$GITHUB_OUTPUT"',
              "      - name: Deploy report", "        if: always()", "        uses: actions/upload-artifact@v4",
              "        with:", "          name: shipdeck-junit", "          path: shipdeck-junit.xml", ""]
    return "\n".join(lines)
