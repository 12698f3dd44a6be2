"""The kubectl stand-in's object store and verbs reproduce contracts §5 exactly."""

from __future__ import annotations

import json
import os

import pytest

from rootlesskube import run as runner
from tests.conftest import CONTRACTS, STANDINS
from tests.standins.kube_scenario import Scenario, contract_text

NS_YAML = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: rootlesskube-demo\n"
DEPLOY_YAML = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n---\n"
               "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n")


@pytest.fixture
def scenario(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{STANDINS}:{os.environ['PATH']}")
    monkeypatch.setenv("RK_STANDIN_STATE", str(tmp_path / "standin"))
    return Scenario(tmp_path / "standin")


def kubectl(*args, input=None):
    return runner.run(["kubectl", *args], timeout=30, input=input, check=False)


def pod(name, namespace="rootlesskube-demo"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "web", "image": "busybox"}]}}


def test_apply_created_configured_unchanged_match_the_contracts(scenario):
    manifest = NS_YAML + "---\n" + DEPLOY_YAML
    first = kubectl("apply", "-f", "-", "--namespace", "rootlesskube-demo", input=manifest)
    assert (first.returncode, first.stdout, first.stderr) == (0, contract_text("kubectl/apply.created.stdout.txt"), "")
    again = kubectl("apply", "-f", "-", "--namespace", "rootlesskube-demo", input=manifest)
    assert again.stdout == contract_text("kubectl/apply.unchanged.stdout.txt")
    changed = kubectl("apply", "-f", "-", "--namespace", "rootlesskube-demo",
                      input=manifest.replace("replicas: 1", "replicas: 2"))
    assert changed.stdout == contract_text("kubectl/apply.configured.stdout.txt")
    stored = scenario.objects.get("Deployment", "web", "rootlesskube-demo")
    assert stored["spec"] == {"replicas": 2}
    assert scenario.objects.get("Namespace", "rootlesskube-demo")["metadata"]["labels"] == {
        "kubernetes.io/metadata.name": "rootlesskube-demo"}


def test_apply_server_side_and_dry_runs(scenario):
    manifest = NS_YAML + "---\n" + DEPLOY_YAML.split("---\n")[0]
    dry = kubectl("apply", "-f", "-", "-n", "rootlesskube-demo", "--dry-run=server", input=manifest)
    assert dry.stdout == contract_text("kubectl/apply.server-dry-run.stdout.txt")
    assert scenario.objects.list("Deployment") == [] and scenario.objects.list("Namespace") == []
    client = kubectl("apply", "-f", "-", "--dry-run=client", input=NS_YAML)
    assert client.stdout == "namespace/rootlesskube-demo created (dry run)\n"
    ssa = kubectl("apply", "-f", "-", "-n", "rootlesskube-demo", "--server-side", input=manifest)
    assert ssa.stdout == contract_text("kubectl/apply.server-side.stdout.txt")
    assert kubectl("apply", "-f", "-", input="").stderr == "error: no objects passed to apply\n"


def test_apply_labels_removed_from_the_manifest_are_pruned_others_kept(scenario):
    labeled = NS_YAML + "  labels:\n    a: '1'\n    b: '2'\n"
    kubectl("apply", "-f", "-", input=labeled)
    kubectl("label", "ns", "rootlesskube-demo", "by-hand=yes")
    result = kubectl("apply", "-f", "-", input=NS_YAML + "  labels:\n    a: '1'\n")
    assert result.stdout == "namespace/rootlesskube-demo configured\n"
    labels = scenario.objects.get("Namespace", "rootlesskube-demo")["metadata"]["labels"]
    assert labels == {"a": "1", "by-hand": "yes", "kubernetes.io/metadata.name": "rootlesskube-demo"}


def test_registered_rejection_and_warning_are_printed_verbatim(scenario):
    forbidden = contract_text("kubectl/apply.psa-forbidden-pod.stderr.txt")
    warning = contract_text("kubectl/apply.psa-warning.stderr.txt")
    scenario.reject("Pod", "debug", "rootlesskube-demo", forbidden)
    scenario.warn("Deployment", "web", "rootlesskube-demo", warning)
    manifest = json.dumps({"kind": "List", "items": [pod("debug"), {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}]})
    result = kubectl("apply", "-f", "-", "-n", "rootlesskube-demo", input=manifest)
    assert result.returncode == 1
    assert result.stdout == contract_text("kubectl/apply.psa-warning.stdout.txt")
    assert result.stderr == warning + forbidden
    assert scenario.objects.get("Pod", "debug", "rootlesskube-demo") is None


def test_get_prints_lists_objects_and_not_found_like_kubectl(scenario):
    nodes = json.loads((CONTRACTS / "kubectl/get-nodes.ready.json").read_text())["items"]
    scenario.seed(*nodes, pod("b"), pod("a"), pod("c", "other"))
    result = kubectl("get", "nodes", "-o", "json")
    assert result.stdout == (CONTRACTS / "kubectl/get-nodes.ready.json").read_text()
    names = [p["metadata"]["name"] for p in json.loads(kubectl("get", "pods", "-n", "rootlesskube-demo",
                                                                "-o", "json").stdout)["items"]]
    assert names == ["a", "b"]
    everywhere = json.loads(kubectl("get", "po", "-A", "-o", "json").stdout)["items"]
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in everywhere] == [
        ("other", "c"), ("rootlesskube-demo", "a"), ("rootlesskube-demo", "b")]
    single = kubectl("get", "pod", "a", "-n", "rootlesskube-demo", "-o", "json")
    assert single.stdout.startswith('{\n    "apiVersion": "v1",\n    "kind": "Pod",\n')
    missing = kubectl("get", "deployment", "web", "-o", "json")
    assert (missing.returncode, missing.stdout, missing.stderr) == (
        1, "", 'Error from server (NotFound): deployments.apps "web" not found\n')
    empty = kubectl("get", "pods", "-n", "nowhere", "-o", "json")
    assert empty.stdout == (CONTRACTS / "kubectl/get-nodes.empty.json").read_text()


def test_get_raw_answers_only_registered_paths(scenario):
    scenario.raw("/readyz", "ok")
    assert kubectl("get", "--raw", "/readyz").stdout == "ok"
    unknown = kubectl("get", "--raw", "/livez")
    assert unknown.returncode == 99 and "not reproduced" in unknown.stderr


def test_label_outputs_and_overwrite_rule(scenario):
    kubectl("apply", "-f", "-", input=NS_YAML)
    key = "pod-security.kubernetes.io/enforce"
    assert kubectl("label", "ns", "rootlesskube-demo", f"{key}=baseline").stdout == \
        "namespace/rootlesskube-demo labeled\n"
    refused = kubectl("label", "ns", "rootlesskube-demo", f"{key}=restricted")
    assert (refused.returncode, refused.stderr) == (1, contract_text("kubectl/label-ns.no-overwrite.stderr.txt"))
    assert kubectl("label", "ns", "rootlesskube-demo", f"{key}=baseline").stdout == \
        contract_text("kubectl/label-ns.not-labeled.stdout.txt")
    warnings = contract_text("kubectl/label-ns-dry-run-server.stderr.txt")
    scenario.label_warnings("rootlesskube-demo", warnings)
    dry = kubectl("label", "--dry-run=server", "--overwrite", "ns", "rootlesskube-demo", f"{key}=restricted")
    assert (dry.stdout, dry.stderr) == (contract_text("kubectl/label-ns-dry-run-server.stdout.txt"), warnings)
    assert scenario.objects.get("Namespace", "rootlesskube-demo")["metadata"]["labels"][key] == "baseline"
    assert kubectl("label", "ns", "rootlesskube-demo", f"{key}-").stdout == "namespace/rootlesskube-demo unlabeled\n"


def test_delete_removes_and_reports_not_found(scenario):
    scenario.seed(pod("a"))
    assert kubectl("delete", "pod", "a", "-n", "rootlesskube-demo").returncode == 0
    assert scenario.objects.list("Pod") == []
    again = kubectl("delete", "pod", "a", "-n", "rootlesskube-demo")
    assert (again.returncode, again.stderr) == (1, 'Error from server (NotFound): pods "a" not found\n')
    assert kubectl("delete", "pod", "a", "--ignore-not-found").returncode == 0
    assert scenario.kubectl_calls()[-1] == ["kubectl", "delete", "pod", "a", "--ignore-not-found"]


def test_taint_removal_prints_untainted_per_node_as_the_contract_shows(scenario):
    for name in ("u7s-a", "u7s-b"):
        scenario.objects.put({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    sample = next(line for line in contract_text("usernetes/make-kubeadm-init.stdout.txt").splitlines(True)
                  if "untainted" in line)
    every = kubectl("taint", "nodes", "--all", "node-role.kubernetes.io/control-plane-")
    assert (every.returncode, every.stdout) == (0, sample.replace("u7s-devbox", "u7s-a")
                                                + sample.replace("u7s-devbox", "u7s-b"))
    one = kubectl("taint", "nodes", "u7s-b", "node-role.kubernetes.io/control-plane-")
    assert one.stdout == sample.replace("u7s-devbox", "u7s-b")
    missing = kubectl("taint", "nodes", "nope", "node-role.kubernetes.io/control-plane-")
    assert (missing.returncode, missing.stderr) == (1, 'Error from server (NotFound): nodes "nope" not found\n')
    assert kubectl("taint", "nodes", "--all", "dedicated=gpu:NoSchedule").returncode == 99  # adding: not reproduced
