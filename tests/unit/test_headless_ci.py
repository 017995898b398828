"""CI-native output: detection, GitLab sections, GitHub groups and masks, plain lines; reports; pipelines."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml

from app.engine.events import Diagnosis, Notice, Output, RunFinished, RunStarted, StepFinished, StepStarted, StepStatus
from app.errors import ShipdeckError
from app.headless import ci, pipelines
from app.headless.ci_output import CIRenderer, section_name
from app.headless.reports import JUnitReport, dotenv_text
from app.secrets import masking

SECRET = 'p$a"ss!w\\rd #x'


@pytest.fixture(autouse=True)
def registered_secret():
    masking.clear()
    masking.register(SECRET)
    yield
    masking.clear()


@pytest.mark.parametrize(("env", "kind"), [
    ({"GITLAB_CI": "true", "CI": "true"}, ci.CIKind.GITLAB),
    # gitlab-ci-local sets GITLAB_CI=false on purpose
    ({"GITLAB_CI": "false", "CI": "true", "CI_JOB_ID": "1", "CI_PROJECT_DIR": "/b"}, ci.CIKind.GITLAB),
    ({"GITHUB_ACTIONS": "true", "CI": "true"}, ci.CIKind.GITHUB),
    ({"CI": "true"}, ci.CIKind.OTHER),
    ({"CI": "1"}, ci.CIKind.OTHER),
    ({}, ci.CIKind.NONE),
    ({"CI": "false"}, ci.CIKind.NONE),
])
def test_ci_kind(env: dict[str, str], kind: ci.CIKind) -> None:
    assert ci.ci_kind(env) is kind


@pytest.mark.parametrize(("env", "isatty", "colour"), [
    ({}, False, False),
    ({}, True, True),
    ({"NO_COLOR": "1"}, True, False),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),  # NO_COLOR wins
    ({"FORCE_COLOR": "1"}, False, True),
    ({"FORCE_COLOR": "0"}, False, False),
    ({"CLICOLOR_FORCE": "1"}, False, True),
    ({"GITLAB_CI": "true"}, False, True),  # GitLab's log renders ANSI colours without a TTY
    ({"GITLAB_CI": "true", "NO_COLOR": "x"}, False, False),
    ({"CI": "true"}, False, False),
])
def test_colour(env: dict[str, str], isatty: bool, colour: bool) -> None:
    assert ci.detect(env, isatty=isatty).colour is colour


def run_events(failed: bool = False) -> list:
    return [
        RunStarted(command="deploy", hosts=("h1", "h2"), version="abc", at=1000.0),
        StepStarted(step="app.boot", title="Boot app", host="h1", step_id="app.boot#1", at=1001.0),
        StepStarted(step="app.boot", title="Boot app", host="h2", step_id="app.boot#2", at=1001.0),
        Output(step="app.boot", line="h1 line one", host="h1", step_id="app.boot#1"),
        Output(step="app.boot", line=f"h2 leaked {SECRET}", host="h2", step_id="app.boot#2"),
        Output(step="app.boot", line="h1 line two", host="h1", step_id="app.boot#1"),
        StepFinished(step="app.boot", status=StepStatus.OK, duration=2.0, host="h1", step_id="app.boot#1", at=1003.0),
        StepFinished(step="app.boot", status=StepStatus.FAILED if failed else StepStatus.OK, duration=3.0, host="h2",
                     step_id="app.boot#2", error=f"exit 1 ({SECRET})" if failed else None, at=1004.0),
        Notice(message="proxy is old", level="warning"),
        RunFinished(ok=not failed, duration=4.0, error="a step failed" if failed else None),
    ]


def render(kind: ci.CIKind, events: list, colour: bool = False) -> str:
    out = io.StringIO()
    renderer = CIRenderer(ci.CIEnvironment(kind=kind, colour=colour), out, secret_values=masking.registered)
    for event in events:
        renderer(event)
    return out.getvalue()


def test_gitlab_sections_do_not_interleave_and_fold_only_what_passed() -> None:
    text = render(ci.CIKind.GITLAB, run_events(failed=True))
    assert SECRET not in text and "[REDACTED]" in text
    starts = re.findall(r"\x1b\[0Ksection_start:(\d+):([A-Za-z0-9_.-]+)(\[collapsed=true\])?\r\x1b\[0K(.*)", text)
    ends = re.findall(r"\x1b\[0Ksection_end:(\d+):([A-Za-z0-9_.-]+)\r\x1b\[0K", text)
    assert [name for _, name, _, _ in starts] == [name for _, name in ends] and len(starts) == 2
    (t1, _, folded1, _), (_, _, folded2, header2) = starts
    assert (t1, ends[0][0], folded1) == ("1001", "1003", "[collapsed=true]")
    assert folded2 == "" and "✗ [h2] Boot app" in header2  # a failed step stays open
    h1_block = text[text.index(starts[0][1]):text.index("section_end:1003")]
    assert "h1 line one" in h1_block and "h1 line two" in h1_block and "h2 leaked" not in h1_block
    assert "error: [h2] Boot app: exit 1 ([REDACTED])" in text
    assert "warning: proxy is old" in text


def test_github_groups_masks_and_stop_commands() -> None:
    text = render(ci.CIKind.GITHUB, run_events(failed=True))
    lines = text.splitlines()
    masks = [line for line in lines if line.startswith("::add-mask::")]
    assert masks and lines.index(masks[0]) == 0  # announced before anything else is written
    assert all(SECRET not in line for line in lines if not line.startswith("::add-mask::"))
    assert lines.count("::endgroup::") == 2
    stop = next(line for line in lines if line.startswith("::stop-commands::"))
    token = stop.split("::")[2]
    assert f"::{token}::" in lines
    assert any(line.startswith("::error::[h2] Boot app: exit 1") for line in lines)
    assert "::warning::proxy is old" in lines


def test_plain_output_without_ci_has_no_escape_sequences_and_honours_colour() -> None:
    plain = render(ci.CIKind.OTHER, run_events())
    assert "\x1b" not in plain and "::" not in plain
    assert "✓ [h1] Boot app (2.0s)" in plain and "done in 4.0s" in plain
    coloured = render(ci.CIKind.OTHER, run_events(), colour=True)
    assert "\x1b[32m✓ [h1] Boot app" in coloured


def test_section_names_only_use_gitlabs_characters() -> None:
    assert re.fullmatch(r"[a-zA-Z0-9_.-]+", section_name("accessory.boot#3 db/x", "x", 7))


def test_diagnosis_is_an_error_with_its_fixes() -> None:
    text = render(ci.CIKind.GITHUB, [Diagnosis(code="pg", title="Password mismatch", host="h1", target="db",
                                               detail="the volume was initialised with another password",
                                               fixes=(("reset", "shipdeck --auto --repair db-password"),))])
    assert "::error::Password mismatch (h1 db)" in text and "fix: reset: shipdeck --auto --repair db-password" in text


def test_junit_report_is_valid_xml_with_a_case_per_step_and_host(tmp_path: Path) -> None:
    report = JUnitReport()
    for event in run_events(failed=True):
        report(event)
    path = tmp_path / "reports" / "junit.xml"
    report.write(path)
    text = path.read_text()
    assert SECRET not in text
    root = ElementTree.fromstring(text)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == ["Boot app [h1]", "Boot app [h2]"]
    failure = cases[1].find("failure")
    assert failure is not None and "[REDACTED]" in failure.get("message", "") and "h2 leaked" in (failure.text or "")


def test_dotenv_report() -> None:
    assert dotenv_text({"SHIPDECK_VERSION": "abc", "SHIPDECK_URL": "https://x"}) == \
        "SHIPDECK_VERSION=abc\nSHIPDECK_URL=https://x\n"
    with pytest.raises(ShipdeckError, match="line break"):
        dotenv_text({"A": "x\ny"})
    with pytest.raises(ShipdeckError, match="not a variable name"):
        dotenv_text({"A-B": "x"})


SPEC = pipelines.PipelineSpec(secret_names=("KAMAL_REGISTRY_PASSWORD", "RAILS_MASTER_KEY", "POSTGRES_PASSWORD"),
                              destination="production")


def test_gitlab_pipeline_reads_as_intended() -> None:
    document = yaml.safe_load(pipelines.gitlab(SPEC))
    job = document["deploy"]
    assert job["image"].startswith("python:")
    script = " ".join(job["script"])
    assert "shipdeck --auto deploy -d production" in script and "--junit shipdeck-junit.xml" in script
    assert "--secrets-from-env=RAILS_MASTER_KEY" in script
    assert job["artifacts"]["reports"] == {"junit": "shipdeck-junit.xml", "dotenv": "deploy.env"}
    assert not any("keyscan" in step for step in job["before_script"])
    assert any("SSH_KNOWN_HOSTS" in step for step in job["before_script"])
    for name in ("SSH_PRIVATE_KEY", "SSH_KNOWN_HOSTS", *SPEC.secret_names):
        assert re.search(rf"^#\s+{name}\s", pipelines.gitlab(SPEC), re.MULTILINE), name


def test_github_workflow_reads_as_intended() -> None:
    document = yaml.safe_load(pipelines.github(SPEC))
    job = document["jobs"]["deploy"]
    assert job["env"]["RAILS_MASTER_KEY"] == "${{ secrets.RAILS_MASTER_KEY }}"
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "shipdeck --auto deploy -d production" in runs and "keyscan" not in runs


@pytest.mark.parametrize(("render_pipeline", "schema"), [
    (pipelines.gitlab, "vendor.gitlab-ci"), (pipelines.github, "vendor.github-workflows")])
def test_generated_pipelines_pass_the_vendors_schemas(render_pipeline, schema: str, tmp_path: Path) -> None:
    checker = shutil.which("check-jsonschema")
    assert checker, "check-jsonschema is a test dependency (pyproject's test extras)"
    for spec in (SPEC, pipelines.PipelineSpec()):
        path = tmp_path / "pipeline.yml"
        path.write_text(render_pipeline(spec))
        result = subprocess.run([checker, "--builtin-schema", schema, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(render_pipeline(SPEC).replace("stage: deploy", "stage: [1, 2]").replace("runs-on:", "runs_on:"))
    assert subprocess.run([checker, "--builtin-schema", schema, str(broken)], capture_output=True).returncode != 0
