"""`rootlesskube run` end to end against the kind and kubectl stand-ins: success, failure, reports, cleanup."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from rootlesskube import cluster
from tests.recipes.conftest import recipe_text
from tests.standins.kube_scenario import Scenario, contract_text

STEPS = [
    "check the host for kind (doctor)",
    "pss check (restricted:latest)",
    "bring up the kind cluster 'rk-smoke'",
    "namespace 'demo' on 'rk-smoke'",
    "manifests in 'demo' on 'rk-smoke'",
]


def kind_verbs(standins):
    return [c["argv"][1:3] for c in standins.calls("kind")]


def test_a_recipe_runs_every_step_in_order_and_cleans_up(cli, standins, write_recipe, tmp_path):
    path = write_recipe(recipe_text(cleanup="always"))
    junit = tmp_path / "out" / "junit.xml"
    code, out, err = cli("run", path, "--json", "--junit", junit)
    assert code == 0, err
    report = json.loads(out)
    assert [s["name"] for s in report["steps"]] == STEPS + ["delete the cluster 'rk-smoke' (cleanup: always)"]
    assert {s["status"] for s in report["steps"]} == {"passed"}
    assert (report["recipe"], report["ok"], report["exit_code"], report["artifacts_dir"]) == ("smoke", True, 0, None)
    assert report["steps"][3]["message"] == "namespace/demo created"
    assert report["steps"][1]["message"] == "1 objects allowed at restricted:latest"
    assert kind_verbs(standins).count(["create", "cluster"]) == 1
    assert kind_verbs(standins).count(["delete", "cluster"]) == 1
    assert standins.tool_state("kind")["clusters"] == {}
    assert cluster.load_record("rk-smoke") is None
    applied = [c["argv"] for c in standins.calls("kubectl") if "apply" in c["argv"]]
    kubeconfig = str(cluster.kubeconfig_path("rk-smoke"))
    assert applied == [["kubectl", "--kubeconfig", kubeconfig, "apply", "-f", "-"],
                       ["kubectl", "--kubeconfig", kubeconfig, "apply", "-f", "-", "--namespace", "demo"]]
    assert Scenario(standins.state).objects.get("Pod", "web", "demo")["metadata"]["name"] == "web"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("smoke", "6",
                                                                                                    "0", "0")
    assert [c.get("name") for c in suite.findall("testcase")][:5] == STEPS
    assert all(float(c.get("time")) >= 0 and c.find("failure") is None for c in suite.findall("testcase"))
    for step in STEPS:
        assert f"   ok: {step} (" in err


def test_the_terminal_summary_and_the_kept_cluster(cli, standins, write_recipe):
    path = write_recipe(recipe_text(cleanup="never"))
    code, out, err = cli("run", path)
    assert code == 0, err
    kubeconfig = cluster.kubeconfig_path("rk-smoke")
    assert out.splitlines()[-2:] == [f"kept: rk-smoke (export KUBECONFIG={kubeconfig}; delete it with: "
                                     "rootlesskube down --name rk-smoke)", "recipe smoke: passed (5 steps)"]
    assert "kept cluster 'rk-smoke' (cleanup: never); remove it with: rootlesskube down --name rk-smoke" in err
    assert kind_verbs(standins).count(["delete", "cluster"]) == 0
    assert cluster.load_record("rk-smoke").state == "ready"


def test_keep_overrides_always(cli, standins, write_recipe):
    code, out, err = cli("run", write_recipe(recipe_text(cleanup="always")), "--keep")
    assert code == 0, err
    assert "kept cluster 'rk-smoke' (--keep)" in err
    assert ["delete", "cluster"] not in kind_verbs(standins)


def test_a_rejected_workload_fails_with_evidence_and_on_success_keeps_the_cluster(cli, standins, write_recipe,
                                                                                  tmp_path):
    scenario = Scenario(standins.state)
    scenario.reject("Pod", "debug", "demo", contract_text("kubectl/apply.psa-forbidden-pod.stderr.txt"))
    scenario.seed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stuck", "namespace": "demo"},
                   "status": {"phase": "Pending"}},
                  {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fine", "namespace": "demo"},
                   "status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": True}]}})
    text = recipe_text(cleanup="on-success", workloads="  - {type: manifests, namespace: demo, files: [debug.yaml]}",
                       checks="  - {type: pmm-verify, namespace: demo}")
    artifacts = tmp_path / "evidence"
    junit = tmp_path / "junit.xml"
    code, out, err = cli("run", write_recipe(text), "--artifacts", artifacts, "--junit", junit)
    assert code == 4, err
    folder = artifacts / "rk-smoke"
    assert sorted(p.name for p in folder.iterdir()) == [
        "describe-demo-stuck.error.txt", "driver-logs", "events.json", "logs-demo-stuck.error.txt"]
    assert json.loads((folder / "events.json").read_text()) == {"apiVersion": "v1", "items": [], "kind": "List",
                                                                 "metadata": {"resourceVersion": ""}}
    # the stand-in reproduces no `describe`/`logs` text (no contract): what was tried and why it failed is kept
    assert "kubectl stand-in: verb 'describe' is not reproduced" in (folder / "describe-demo-stuck.error.txt").read_text()
    kubeconfig = str(cluster.kubeconfig_path("rk-smoke"))
    assert ["kubectl", "--kubeconfig", kubeconfig, "logs", "stuck", "--namespace", "demo", "--all-containers",
            "--tail=500"] in standins.argvs("kubectl")
    assert ["kind", "export", "logs", str(folder / "driver-logs"), "--name", "rk-smoke"] in standins.argvs("kind")
    # on-success: a failed run keeps its cluster for debugging
    assert ["delete", "cluster"] not in kind_verbs(standins)
    assert f"artifacts: {artifacts}" in out
    assert out.splitlines()[-1] == ("recipe smoke: FAILED at \"manifests in 'demo' on 'rk-smoke'\" "
                                    "(exit 4: verification failed (not rootless, PMM not healthy, a manifest rejected))")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("7", "1", "1")
    failed_case = suite.findall("testcase")[5]
    assert failed_case.get("name") == "manifests in 'demo' on 'rk-smoke'"
    failure = failed_case.find("failure")
    assert failure.get("message") == ("manifests was rejected: Error from server (Forbidden): error when creating "
                                      "\"STDIN\": pods \"debug\" is forbidden: violates PodSecurity "
                                      "\"restricted:latest\": privileged (container \"debug\" must not set "
                                      "securityContext.privileged=true), allowPrivilegeEscalation != false (container "
                                      "\"debug\" must set securityContext.allowPrivilegeEscalation=false), "
                                      "unrestricted capabilities (container \"debug\" must set "
                                      "securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or "
                                      "container \"debug\" must set securityContext.runAsNonRoot=true), "
                                      "seccompProfile (pod or container \"debug\" must set "
                                      "securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")")
    assert failure.get("type") == "exit 4"
    assert failure.text.endswith("hint: `rootlesskube pss check FILE` shows why offline; `rootlesskube pss fix` fixes")
    attachments = failed_case.find("system-out").text.splitlines()
    assert attachments[0] == f"[[ATTACHMENT|{folder / 'driver-logs'}]]"
    assert len(attachments) == 4
    skipped = suite.findall("testcase")[6]
    assert skipped.get("name") == "pmm verify in 'demo' on 'rk-smoke'" and skipped.find("skipped") is not None


def test_an_expected_rejection_passes(cli, standins, write_recipe):
    Scenario(standins.state).reject("Pod", "debug", "demo",
                                    contract_text("kubectl/apply.psa-forbidden-pod.stderr.txt"))
    text = recipe_text(workloads="  - {type: manifests, namespace: demo, files: [debug.yaml], expect: rejected}")
    code, out, err = cli("run", write_recipe(text), "--json")
    assert code == 0, err
    step = json.loads(out)["steps"][5]
    assert step["status"] == "passed"
    assert step["message"].startswith('rejected as expected: Error from server (Forbidden): error when creating '
                                      '"STDIN": pods "debug" is forbidden: violates PodSecurity "restricted:latest"')


def test_an_admitted_negative_control_fails(cli, standins, write_recipe):
    text = recipe_text(workloads="  - {type: manifests, namespace: demo, files: [debug.yaml], expect: rejected}")
    code, out, err = cli("run", write_recipe(text), "--json")
    assert code == 4
    step = json.loads(out)["steps"][5]
    assert step["message"] == ("manifests was admitted into namespace 'demo', but the recipe expects Pod Security "
                               "admission to reject it")
    assert ["delete", "cluster"] in kind_verbs(standins)  # cleanup: always


def test_a_failed_bring_up_keeps_its_logs_in_the_artifacts(cli, standins, write_recipe, tmp_path):
    standins.scenario("kind", create="node-boot-failure")  # retained nodes: logs exist
    artifacts = tmp_path / "evidence"
    code, out, err = cli("run", write_recipe(recipe_text(cleanup="always")), "--artifacts", artifacts, "--json")
    assert code == 1, err
    report = json.loads(out)
    assert [s["status"] for s in report["steps"]] == ["passed", "passed", "failed", "skipped", "skipped"]
    assert report["steps"][2]["artifacts"] == [str(artifacts / "rk-smoke" / "driver-logs")]
    assert report["artifacts_dir"] == str(artifacts)
    assert "deleted the half-created cluster 'rk-smoke'" in err
    assert kind_verbs(standins).count(["delete", "cluster"]) == 1  # by up's own cleanup, not a second time
    assert report["kept_clusters"] == []


@pytest.mark.parametrize("policy, flags", [("never", ()), ("on-success", ()), ("always", ("--keep",))])
def test_a_failed_bring_up_is_kept_and_reported_unless_cleanup_is_always(cli, standins, write_recipe, tmp_path,
                                                                           policy, flags):
    standins.scenario("kind", create="node-boot-failure")
    code, out, err = cli("run", write_recipe(recipe_text(cleanup=policy)), "--artifacts", tmp_path / "evidence",
                         "--json", *flags)
    assert code == 1, err
    report = json.loads(out)
    assert [s["status"] for s in report["steps"]] == ["passed", "passed", "failed", "skipped", "skipped"]
    assert ["delete", "cluster"] not in kind_verbs(standins)
    assert sorted(standins.tool_state("kind")["clusters"]) == ["rk-smoke"]
    assert cluster.load_record("rk-smoke").state == "failed"
    assert report["kept_clusters"] == [{"name": "rk-smoke", "kubeconfig": str(cluster.kubeconfig_path("rk-smoke")),
                                        "delete_command": "rootlesskube down --name rk-smoke"}]
    why = "--keep" if flags else f"cleanup: {policy}"
    assert (f"kept cluster 'rk-smoke' (its bring-up failed; {why}); remove it with: rootlesskube down --name "
            "rk-smoke") in err
    # the command the report gives removes it
    code, _, err = cli("down", "--name", "rk-smoke")
    assert code == 0, err
    assert standins.tool_state("kind")["clusters"] == {}


def test_the_host_not_ready_stops_before_any_cluster(cli, standins, write_recipe, monkeypatch):
    from rootlesskube.host.model import FAIL, CheckResult
    from tests.drivers.passing_doctor import Report

    failing = Report([CheckResult("cgroup.v2", FAIL, "cgroup v2 is mounted", "hybrid", fix="boot with "
                                  "systemd.unified_cgroup_hierarchy=1")])
    monkeypatch.setattr(cluster, "DOCTOR", lambda driver: failing)
    code, out, err = cli("run", write_recipe(recipe_text()), "--json")
    assert code == 3
    assert [s["status"] for s in json.loads(out)["steps"]] == ["failed"] + ["skipped"] * 4
    assert standins.calls() == []


def test_github_actions_groups_and_step_summary(cli, standins, write_recipe, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = cli("run", write_recipe(recipe_text()))
    assert code == 0, err
    # one group per recipe step (5 and the delete); the steps of cluster.up and cluster.down are plain lines
    # inside their group, because GitHub does not nest groups
    groups = [line for line in err.splitlines() if line.startswith("::")]
    titles = STEPS + ["delete the cluster 'rk-smoke' (cleanup: always)"]
    assert groups == [g for t in titles for g in (f"::group::{t}", "::endgroup::")]
    bring_up = err.split("::group::bring up the kind cluster 'rk-smoke'\n", 1)[1].split("::endgroup::", 1)[0]
    inner = [line[3:] for line in bring_up.splitlines() if line.startswith("-> ")]
    assert inner[:3] == ["check the host for kind (doctor)", "look for an existing cluster 'rk-smoke'",
                         "create the cluster 'rk-smoke'"]
    assert "   ok: create the cluster 'rk-smoke' (" in bring_up
    text = summary.read_text()
    assert text.startswith("### rootlesskube recipe `smoke`\n\nrecipe smoke: passed (6 steps)\n")
    assert "| namespace 'demo' on 'rk-smoke' | ✅ passed |" in text


def test_github_actions_a_failed_run_annotates_the_error_and_summarises_the_failure(cli, standins, write_recipe,
                                                                                    tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    text = recipe_text(workloads="  - {type: manifests, namespace: demo, files: [debug.yaml], expect: rejected}")
    code, out, err = cli("run", write_recipe(text), "--artifacts", tmp_path / "evidence")
    assert code == 4
    message = ("manifests was admitted into namespace 'demo', but the recipe expects Pod Security admission to "
               "reject it")
    # the annotation is inside the failed step's group, which still closes
    failed_group = err.split("::group::manifests in 'demo' on 'rk-smoke'\n")[2].split("::endgroup::")[0]
    assert f"::error::{message}\n" in failed_group
    assert err.count("::group::") == err.count("::endgroup::")
    text = summary.read_text()
    assert text.startswith("### rootlesskube recipe `smoke`\n\nrecipe smoke: FAILED at \"manifests in 'demo' on "
                           "'rk-smoke'\" (exit 4: ")
    assert "| manifests in 'demo' on 'rk-smoke' | ❌ failed |" in text and f"| {message} |" in text
    assert f"\nArtifacts: `{tmp_path / 'evidence'}`\n" in text


class _Terminal:
    """stderr as a terminal would be: rich colours it unless told not to."""

    def __init__(self):
        import io

        self.buffer = io.StringIO()

    def write(self, text):
        return self.buffer.write(text)

    def flush(self):
        pass

    def isatty(self):
        return True


@pytest.mark.parametrize("env, plain", [({"CI": "true"}, True), ({"NO_COLOR": "1"}, True), ({}, False)])
def test_ci_makes_the_terminal_output_plain(monkeypatch, env, plain):
    import sys

    from rootlesskube import ui

    for name in ("CI", "NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"TERM": "xterm-256color", **env}.items():
        monkeypatch.setenv(name, value)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with ui.step("a step"):
        pass
    text = terminal.buffer.getvalue()
    assert ui.plain() is plain
    assert ("\x1b[" not in text) is plain
    assert text.replace("\x1b[0m", "").replace("\x1b[1m", "").replace("\x1b[32m", "").startswith("-> a step\n")
