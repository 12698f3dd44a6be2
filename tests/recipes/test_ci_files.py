"""The shipped CI files: the GitHub Actions nightly workflow and the systemd user timer example."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "nightly.yml"
NIGHTLY = REPO / "docs" / "nightly"


def steps():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return {step.get("name", step.get("uses")): step for step in workflow["jobs"]["smoke"]["steps"]}


def test_the_workflow_installs_runs_doctor_and_the_recipe_and_uploads_the_reports():
    found = steps()
    assert "pip\" install --quiet ." in found["Install rootlesskube"]["run"]
    assert found["Doctor"]["run"].strip() == "rootlesskube doctor"
    run = shlex.split(found["Run the recipe"]["run"])
    assert run[:3] == ["rootlesskube", "run", "$RECIPE"]
    junit, artifacts = run[run.index("--junit") + 1], run[run.index("--artifacts") + 1]
    upload_junit, upload_evidence = found["Upload the JUnit report"], found["Upload the evidence of a failure"]
    assert upload_junit["if"] == "always()" and upload_evidence["if"] == "failure()"
    assert upload_junit["uses"].startswith("actions/upload-artifact@")
    # the paths the recipe writes are the paths uploaded ($RUNNER_TEMP is ${{ runner.temp }})
    as_expression = "${{ runner.temp }}"
    assert upload_junit["with"]["path"] == junit.replace("$RUNNER_TEMP", as_expression)
    assert upload_evidence["with"]["path"] == artifacts.replace("$RUNNER_TEMP", as_expression)


def test_the_workflow_removes_the_clusters_status_lists(cli, standins):
    # the cleanup step's one-liner reads `rootlesskube status --json` as this version prints it
    assert cli("up", "--name", "rk-nightly")[0] == 0
    code, out, _ = cli("status", "--json")
    assert code == 0
    script = steps()["Remove a cluster the recipe kept"]["run"]
    snippet = script.split("python3 -c '", 1)[1].split("'", 1)[0]
    names = subprocess.run([sys.executable, "-c", snippet], input=out, capture_output=True, text=True, timeout=30)
    assert (names.returncode, names.stdout.split()) == (0, ["rk-nightly"])


@pytest.mark.skipif(not shutil.which("systemd-analyze") and not os.environ.get("CI"),
                    reason="systemd-analyze is not installed (Debian: apt-get install systemd)")
def test_the_timer_example_passes_systemd_analyze_verify(tmp_path):
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing in CI: apt-get install systemd"
    service = (NIGHTLY / "rootlesskube-nightly.service").read_text()
    settings = [line for line in service.splitlines() if not line.startswith("#")]
    assert "Delegate=yes" in settings  # kind reads the controllers of the cgroup that runs podman
    assert not [line for line in settings if "network-online" in line]  # a user manager has no such target
    # verify checks that ExecStart's program exists: the user's rootlesskube becomes /bin/true
    (tmp_path / "rootlesskube-nightly.service").write_text(service.replace("%h/.local/bin/rootlesskube", "/bin/true"))
    (tmp_path / "rootlesskube-nightly.timer").write_text((NIGHTLY / "rootlesskube-nightly.timer").read_text())
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "rootlesskube-nightly.timer"),
                             str(tmp_path / "rootlesskube-nightly.service")], capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
