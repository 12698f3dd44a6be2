"""The PMM steps of a recipe end to end against the kind and kubectl stand-ins (as tests/workloads does for
`pmm deploy`): the shipped PMM 2 negative control passes, PMM 3 deploys and pmm verify runs its in-pod checks.

Podman is not run here (no test marked `podman`): the host-side proofs (the
`rootless` step, pmm verify's host-processes-rootless) find no podman, and
that must be a failed step with its evidence and a clear message, never a crash.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import yaml

from rootlesskube import run as runner
from rootlesskube.recipe import load as recipe
from rootlesskube.workloads import pmm
from tests.workloads.pmm_world import PmmWorld


@pytest.fixture
def world(standins, tmp_path, monkeypatch):
    from rootlesskube.workloads import pmm_deploy

    monkeypatch.setattr(pmm_deploy, "POLL_SECONDS", 0.05)
    return lambda cluster, namespace: PmmWorld(standins.state, tmp_path / "rk-home", cluster, namespace)


@pytest.fixture
def no_podman(monkeypatch):
    """A host without podman: what the host-side proofs meet here, where tests must not run the real one."""
    which = runner.which
    monkeypatch.setattr(runner, "which", lambda name: None if name == "podman" else which(name))


def shipped_with_archive(name: str, recipe_dir, **overrides) -> str:
    """The shipped recipe, its PMM image from an archive next to it (no pull), written into recipe_dir."""
    data = yaml.safe_load(recipe.shipped()[name].read_text())
    (recipe_dir / "pmm.tar").write_bytes(b"docker-archive stand-in")
    for workload in data["workloads"]:
        workload["imageArchive"] = "pmm.tar"
    data.update(overrides)
    path = recipe_dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def kind_argvs(standins):
    return standins.argvs("kind")


def test_the_pmm2_negative_control_recipe_passes_when_admission_rejects_pmm2(cli, standins, world, recipe_dir):
    w = world("rootlesskube-pmm2", "secure-namespace")
    w.pmm2_rejected()
    w.pmm2_crashlooping()
    path = shipped_with_archive("pmm2-negative-control", recipe_dir)
    code, out, err = cli("run", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [(s["name"], s["status"]) for s in report["steps"]] == [
        ("check the host for kind (doctor)", "passed"),
        ("bring up the kind cluster 'rootlesskube-pmm2'", "passed"),
        ("namespace 'secure-namespace' on 'rootlesskube-pmm2'", "passed"),
        ("PMM 2 in 'secure-namespace' on 'rootlesskube-pmm2'", "passed"),
        ("delete the cluster 'rootlesskube-pmm2' (cleanup: always)", "passed")]
    assert report["steps"][3]["message"] == "negative control held"
    assert ["kind", "load", "image-archive", str(recipe_dir / "pmm.tar"), "--name", "rootlesskube-pmm2"] in \
        kind_argvs(standins)
    labels = w.scenario.objects.get("Namespace", "secure-namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_pmm2_negative_control_recipe_fails_when_pmm2_is_admitted(cli, standins, world, recipe_dir):
    w = world("rootlesskube-pmm2", "secure-namespace")
    w.pmm2_crashlooping()  # no FailedCreate event: the plain PMM 2 manifest was admitted
    path = shipped_with_archive("pmm2-negative-control", recipe_dir, timeouts={"ready": 300, "workload": 1})
    code, out, err = cli("run", path, "--json")
    assert code == 4, err
    step = json.loads(out)["steps"][3]
    assert (step["name"], step["status"]) == ("PMM 2 in 'secure-namespace' on 'rootlesskube-pmm2'", "failed")
    assert "01.pmm2.yaml" in step["detail"]


def test_pmm3_deploys_and_pmm_verify_runs_every_in_pod_check(cli, standins, world, recipe_dir, no_podman, tmp_path):
    w = world("rootlesskube", "secure-namespace")
    w.pmm3_running()
    w.pmm3_in_pod()
    path = shipped_with_archive("kind-pmm3-restricted", recipe_dir, checks=[
        {"type": "doctor"}, {"type": "pmm-verify", "namespace": "secure-namespace"}])
    code, out, err = cli("run", path, "--json", "--artifacts", tmp_path / "evidence")
    report = json.loads(out)
    steps = {s["name"]: s for s in report["steps"]}
    deployed = steps["PMM 3 in 'secure-namespace' on 'rootlesskube'"]
    assert (deployed["status"], deployed["message"]) == ("passed", "ready")
    assert w.stored("StatefulSet", pmm.NAME)["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 1000
    verified = steps["pmm verify in 'secure-namespace' on 'rootlesskube'"]
    # every in-pod check passes; only the host-side proof cannot be made without podman
    checks = verified["detail"].split("\n\n", 1)[1]
    assert [line.split(":")[0] for line in checks.splitlines()] == [
        "ok   namespace-enforces-restricted", "ok   pod-running-ready", "ok   readyz-200", "ok   pid1-uid-1000",
        "ok   pid1-no-capabilities", "ok   pid1-no-new-privs", "ok   pid1-seccomp-filter",
        "ok   uid-map-not-identity", "FAIL host-processes-rootless"]
    assert verified["status"] == "failed" and code == 4, err
    assert verified["message"].startswith("PMM is not proven rootless: host-processes-rootless: could not tell: ")
    assert "podman" in verified["message"]
    assert (tmp_path / "evidence" / "rootlesskube" / "events.json").is_file()


def test_the_rootless_step_without_podman_is_a_failed_step_with_evidence(cli, standins, world, recipe_dir,
                                                                          no_podman, tmp_path):
    world("rootlesskube", "secure-namespace")
    path = shipped_with_archive("kind-pmm3-restricted", recipe_dir, workloads=[],
                                checks=[{"type": "doctor"}, {"type": "rootless"}])
    junit = tmp_path / "junit.xml"
    code, out, err = cli("run", path, "--json", "--junit", junit, "--artifacts", tmp_path / "evidence")
    report = json.loads(out)
    step = report["steps"][-1]
    assert (step["name"], step["status"]) == ("prove 'rootlesskube' rootless", "failed")
    assert step["message"].startswith("`podman` was not found on PATH")
    assert "hint: install Podman" in step["detail"]
    assert sorted(p.rsplit("/", 1)[-1] for p in step["artifacts"]) == ["driver-logs", "events.json"]
    assert code == report["exit_code"] == 1, err
    assert "Traceback" not in err
    assert "error: `podman` was not found on PATH" in err
    case = ET.parse(junit).getroot().find("testsuite").findall("testcase")[-1]
    assert case.get("name") == "prove 'rootlesskube' rootless"
    assert case.find("failure").get("message") == step["message"]
