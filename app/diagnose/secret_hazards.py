"""Recogniser 4: secrets that are changed on their way, said without ever showing a value.

Three kinds of change:
- Kamal's own: env files escape values Ruby-`dump`-style and Docker's `--env-file` reads them literally,
  so the container sees a different string (see `env_delivery`). Named per secret with the lengths and
  which characters change, and the ways out.
- A `.kamal/secrets` line or a shell command line that holds the value: dotenv substitutes `$NAME` and
  `$(...)`, drops backslashes and cuts at `#`; a shell expands `$`, backticks, `!` and more.
- GitLab CI: variables are expanded unless marked raw, so `p$a"ss` reaches the job as `p"ss`. The
  original cannot be seen any more; a value still holding `$`, an unpaired quote, or nothing at all is
  flagged as probably mangled (a heuristic).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.config.model import Config, EnvSpec
from app.diagnose.env_delivery import Delivery, delivery
from app.diagnose.findings import Finding, Severity


@dataclass(frozen=True)
class Use:
    """One env var that takes its value from a secret, and whose containers receive it."""

    env_name: str
    where: str  # "role web", "accessory db"


def secret_uses(config: Config) -> dict[str, list[Use]]:
    """Secret key -> the env vars delivered from it through Kamal's env files (roles, tags, accessories)."""
    uses: dict[str, list[Use]] = {}

    def add(spec: EnvSpec, where: str) -> None:
        for env_name, key in spec.secrets:
            use = Use(env_name, where)
            if use not in uses.setdefault(key, []):
                uses[key].append(use)

    for role in config.roles:
        add(role.root_env.merge(role.role_env), f"role {role.name}")
        for tag in {tag for tags in role.host_tags.values() for tag in tags}:
            if tag in role.tag_envs:
                add(role.tag_envs[tag], f"role {role.name} (hosts tagged {tag})")
    for accessory in config.accessories:
        add(accessory.env, f"accessory {accessory.name}")
    return uses


def _delivery_text(change: Delivery) -> str:
    text = "; ".join(f"each {item.character} ({item.count}) arrives as {item.arrives_as}" for item in change.changes)
    return text[:1].upper() + text[1:]


def _env_file_finding(key: str, uses: list[Use], change: Delivery) -> Finding:
    names = ", ".join(f"{use.env_name} ({use.where})" for use in uses)
    postgres_note = ""
    if any(use.env_name == "POSTGRES_PASSWORD" for use in uses):
        postgres_note = (" A Postgres accessory is initialised with the changed value, so the app (which receives "
                         "the same change) still matches it; a password typed by hand or built elsewhere will not.")
    return Finding(
        code="secrets.env_file_escaping", title=f"Containers receive {key} changed",
        what=f"{names}: the value has {change.sent_length} characters, the container sees "
             f"{change.received_length}. {_delivery_text(change)}.",
        why="Kamal writes secrets into env files escaped like Ruby's String#dump, and docker --env-file reads "
            "each line literally, without unescaping (Kamal issues #1412 and #1467; PR #1728 changes this for "
            "Kamal 3). shipdeck writes the same files, so both tools agree on the hosts." + postgres_note,
        fix="Avoid backslashes and control characters in this secret (generate it from letters, digits and "
            f"punctuation other than backslash), or store it base64-encoded (e.g. as {key}_B64) and decode it in "
            f"the entrypoint: export {uses[0].env_name}=\"$(printf %s \"${uses[0].env_name}_B64\" | base64 -d)\". "
            "A multi-line PEM can also be restored in the app by replacing the two characters \\n with a newline.",
        target=key, severity=Severity.WARNING)


# ---------------------------------------------------------------- dotenv and shell

_SHELL_DOUBLE_QUOTED = {"$": "expands variables and $(...)", "`": "runs a command", "\\": "escapes the next "
                        "character", '"': "ends the quoted word", "!": "triggers history expansion (interactive bash)"}
_SHELL_UNQUOTED_EXTRA = {" ": "splits the word", "\t": "splits the word", "'": "starts a quoted string",
                         "*": "globs file names", "?": "globs file names", "[": "globs file names",
                         ";": "ends the command", "&": "ends the command", "|": "starts a pipe",
                         "<": "redirects", ">": "redirects", "(": "is a syntax error", ")": "is a syntax error",
                         "#": "starts a comment", "~": "expands to a home directory"}


def _dotenv_changes(value: str) -> list[str]:
    """What `.kamal/secrets` would do to the value written unquoted or in double quotes."""
    changes = []
    if "$" in value:
        changes.append("$NAME, ${NAME} and $(...) are substituted")
    if "\\" in value:
        changes.append("a backslash is dropped")
    if "#" in value:
        changes.append("unquoted, # starts a comment and cuts the value")
    if value != value.strip():
        changes.append("surrounding whitespace is stripped")
    if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
        changes.append("surrounding quotes are removed")
    if "\n" in value or "\r" in value:
        changes.append("line breaks only survive inside quotes")
    return changes


def _shell_changes(value: str) -> list[str]:
    found = {char: effect for char, effect in _SHELL_DOUBLE_QUOTED.items() if char in value}
    found.update({char: effect for char, effect in _SHELL_UNQUOTED_EXTRA.items() if char in value})
    return [f"{'a space' if char == ' ' else 'a tab' if char == chr(9) else char} {effect}"
            for char, effect in found.items()]


def _expansion_finding(key: str, value: str) -> Finding | None:
    dotenv_changes, shell_changes = _dotenv_changes(value), _shell_changes(value)
    if not dotenv_changes and not shell_changes:
        return None
    lines = []
    if dotenv_changes:
        lines.append("In .kamal/secrets without single quotes: " + "; ".join(dotenv_changes) + ".")
    if shell_changes:
        lines.append("On a shell command line (an export, a CI script, a here-document): "
                     + "; ".join(shell_changes) + ".")
    return Finding(
        code="secrets.expansion_hazard", title=f"{key} would be changed by dotenv or a shell",
        what=" ".join(lines),
        why="dotenv (which reads .kamal/secrets) and shells give these characters a meaning; the value that "
            "arrives is then another one, without any error.",
        fix=f"Never retype the value. Write it with shipdeck secrets write --from-env {key} (an encoding Kamal "
            f"reads back exactly), or as {key}='...' in single quotes when it has no single quote; keep it in "
            f"the keyring (shipdeck secrets set {key}) or a file, never in a command line.",
        target=key, severity=Severity.INFO)


# ---------------------------------------------------------------- GitLab CI

def in_gitlab_ci(environ: Mapping[str, str]) -> bool:
    return "GITLAB_CI" in environ or ("CI_JOB_ID" in environ and "CI_SERVER_URL" in environ)


def _mangled_signs(value: str) -> list[str]:
    signs = []
    if "$" in value:
        signs.append("it still holds a $ (GitLab expands $NAME and turns $$ into $, so parts next to it may be gone)")
    if value.count('"') % 2:
        signs.append('it has an unpaired " (left over when a $NAME next to a quote was expanded to nothing)')
    if value.count("'") % 2:
        signs.append("it has an unpaired '")
    if not value:
        signs.append("it is empty (a value that was only a $NAME reference)")
    return signs


def _gitlab_finding(key: str, value: str) -> Finding | None:
    signs = _mangled_signs(value)
    if not signs:
        return None
    unmaskable = " It also holds \" or !, which GitLab cannot mask, so any job log that prints it shows it." \
        if any(char in value for char in '"!') else ""
    return Finding(
        code="secrets.ci_expanded", title=f"{key} may have been changed by GitLab's variable expansion",
        what=f"{key} comes from a GitLab CI variable, and " + "; ".join(signs) + "." + unmaskable,
        why="GitLab expands $NAME inside variable values unless the variable is raw, before any tool sees them: "
            "an unknown name becomes nothing.",
        fix="In the CI/CD variable settings clear \"Expand variable reference\" (or use expand: false in "
            ".gitlab-ci.yml), enter the original value again, and re-run. Write $$ for a literal $ only in "
            "variables that stay expanded.",
        target=key, severity=Severity.WARNING)


def recognise_secret_hazards(config: Config, values: Mapping[str, str], environ: Mapping[str, str] | None = None,
                             keys: Iterable[str] | None = None) -> list[Finding]:
    """Findings for each secret in `values` (key -> the value as shipdeck resolved it), or only `keys`."""
    environ = environ or {}
    uses = secret_uses(config)
    gitlab = in_gitlab_ci(environ)
    ci_values = set(environ.values()) if gitlab else set()
    findings: list[Finding] = []
    for key in keys if keys is not None else values:
        if key not in values:
            continue
        value = values[key]
        change = delivery(value)
        if change.changed and key in uses:
            findings.append(_env_file_finding(key, uses[key], change))
        if gitlab and (environ.get(key) == value or (value and value in ci_values)):
            gitlab_finding = _gitlab_finding(key, value)
            if gitlab_finding:
                findings.append(gitlab_finding)
        expansion = _expansion_finding(key, value)
        if expansion:
            findings.append(expansion)
    return findings
