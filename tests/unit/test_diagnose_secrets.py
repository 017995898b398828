"""Recogniser 4: secrets changed by Kamal's env files, by dotenv or a shell, or by GitLab's expansion —
said without the value."""

from __future__ import annotations

from pathlib import Path

from app.diagnose.findings import Severity
from app.diagnose.secret_hazards import in_gitlab_ci, recognise_secret_hazards, secret_uses

from .diagnose_support import make_config

GITLAB = {"GITLAB_CI": "true", "CI": "true", "CI_JOB_ID": "42", "CI_SERVER_URL": "https://gitlab.example.com"}


def config_with_secrets(tmp_path: Path):
    return make_config(
        tmp_path, servers={"web": ["web1"], "jobs": {"hosts": ["web2"], "env": {"secret": ["JOBS_TOKEN"]}}},
        env={"clear": {"RAILS_ENV": "production"}, "secret": ["DB_PASSWORD:POSTGRES_PASSWORD", "TLS_KEY"]},
        accessories={"db": {"image": "postgres:16", "host": "db1", "env": {"secret": ["POSTGRES_PASSWORD"]}}})


def by_code(findings, code: str):
    return [finding for finding in findings if finding.code == code]


def test_where_each_secret_is_delivered(tmp_path: Path) -> None:
    uses = secret_uses(config_with_secrets(tmp_path))
    assert [(use.env_name, use.where) for use in uses["POSTGRES_PASSWORD"]] == [
        ("DB_PASSWORD", "role web"), ("DB_PASSWORD", "role jobs"), ("POSTGRES_PASSWORD", "accessory db")]
    assert [use.where for use in uses["JOBS_TOKEN"]] == ["role jobs"]


def test_env_file_escaping_names_lengths_and_characters_never_the_value(tmp_path: Path) -> None:
    values = {"POSTGRES_PASSWORD": "se\\cr\\et", "TLS_KEY": "-----BEGIN-----\nAAAA\n-----END-----",
              "JOBS_TOKEN": "plainToken123"}
    findings = by_code(recognise_secret_hazards(config_with_secrets(tmp_path), values), "secrets.env_file_escaping")
    assert [finding.target for finding in findings] == ["POSTGRES_PASSWORD", "TLS_KEY"]
    password, pem = findings
    assert "the value has 8 characters, the container sees 10" in password.what
    assert "Each backslash (2) arrives as \\\\." in password.what
    assert "DB_PASSWORD (role web)" in password.what and "POSTGRES_PASSWORD (accessory db)" in password.what
    assert "still matches it" in password.why and "#1412" in password.why and "#1467" in password.why
    assert "base64 -d" in password.fix and password.severity is Severity.WARNING
    assert "Each newline (2) arrives as \\n" in pem.what and "replacing the two characters \\n" in pem.fix
    for finding in findings:
        for text in (finding.what, finding.why, finding.fix, finding.title):
            assert "se\\cr\\et" not in text and "AAAA" not in text


def test_dotenv_and_shell_hazards(tmp_path: Path) -> None:
    config = config_with_secrets(tmp_path)
    findings = recognise_secret_hazards(config, {"A": 'p$HOME"x #1', "B": "simple-Value_123", "C": " padded "})
    hazards = {finding.target: finding for finding in by_code(findings, "secrets.expansion_hazard")}
    assert set(hazards) == {"A", "C"}
    assert "$NAME, ${NAME} and $(...) are substituted" in hazards["A"].what
    assert "# starts a comment" in hazards["A"].what and '" ends the quoted word' in hazards["A"].what
    assert "surrounding whitespace is stripped" in hazards["C"].what and "a space splits the word" in hazards["C"].what
    assert "shipdeck secrets write --from-env A" in hazards["A"].fix and hazards["A"].severity is Severity.INFO
    assert not by_code(findings, "secrets.ci_expanded")  # not in GitLab CI


def test_gitlab_expansion_heuristic(tmp_path: Path) -> None:
    config = config_with_secrets(tmp_path)
    # `p$a"ss` set as a non-raw GitLab variable reaches the job as `p"ss`
    environ = {**GITLAB, "DB_PASS": 'p"ss', "OK_PASS": "Xk29-aQ7_mZ", "DOLLAR": "ab$", "EMPTY": ""}
    values = {"DB_PASS": 'p"ss', "OK_PASS": "Xk29-aQ7_mZ", "DOLLAR": "ab$", "EMPTY": "", "FILE_ONLY": 'q"x'}
    findings = by_code(recognise_secret_hazards(config, values, environ), "secrets.ci_expanded")
    flagged = {finding.target: finding for finding in findings}
    assert set(flagged) == {"DB_PASS", "DOLLAR", "EMPTY"}  # FILE_ONLY does not come from a CI variable
    assert 'unpaired "' in flagged["DB_PASS"].what and "cannot mask" in flagged["DB_PASS"].what
    assert "still holds a $" in flagged["DOLLAR"].what and "it is empty" in flagged["EMPTY"].what
    assert "Expand variable reference" in flagged["DB_PASS"].fix and "expand: false" in flagged["DB_PASS"].fix
    assert all('p"ss' not in finding.what for finding in findings)
    assert in_gitlab_ci({"CI_JOB_ID": "1", "CI_SERVER_URL": "x"}) and not in_gitlab_ci({"CI": "true"})
