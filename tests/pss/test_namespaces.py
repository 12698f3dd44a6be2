"""`ns apply` / `ns show` against the kubectl stand-in (contracts §5.4-5.6)."""

from __future__ import annotations

import json
import os

import pytest

from rootlesskube.kube import Kubectl
from rootlesskube.pss.labels import ModePolicy, PssLabels
from rootlesskube.pss.namespaces import apply_namespace, show_namespaces
from tests.conftest import STANDINS
from tests.standins import standin_lib
from tests.standins.kube_scenario import Scenario, contract_text

NS = "rootlesskube-demo"
E = "pod-security.kubernetes.io/"


@pytest.fixture
def scenario(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{STANDINS}:{os.environ['PATH']}")
    monkeypatch.setenv("RK_STANDIN_STATE", str(tmp_path / "standin"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return Scenario(tmp_path / "standin")


def pod(name, security_context=None, owner=None):
    container = {"name": "web", "image": "nginx"}
    if security_context:
        container["securityContext"] = security_context
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": {"containers": [container]}}


HARDENED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"}}


def ns_labels(scenario):
    return scenario.objects.get("Namespace", NS)["metadata"]["labels"]


def test_apply_creates_then_updates_then_is_unchanged(scenario, cli):
    code, out, err = cli("ns", "apply", NS, "--enforce", "restricted")
    assert (code, err) == (0, "")
    assert out == (f"namespace/{NS} created\n  {E}enforce=restricted\n  {E}enforce-version=latest\n")
    assert ns_labels(scenario) == {f"{E}enforce": "restricted", f"{E}enforce-version": "latest",
                                   "kubernetes.io/metadata.name": NS}
    code, out, _ = cli("ns", "apply", NS, "--enforce", "baseline", "--enforce-version", "v1.30",
                       "--warn", "restricted", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["operation"], data["dry_run"]) == ("configured", False)
    assert ns_labels(scenario) == {f"{E}enforce": "baseline", f"{E}enforce-version": "v1.30",
                                   f"{E}warn": "restricted", f"{E}warn-version": "latest",
                                   "kubernetes.io/metadata.name": NS}
    code, out, _ = cli("ns", "apply", NS, "--enforce", "baseline", "--enforce-version", "v1.30",
                       "--warn", "restricted")
    assert out.splitlines()[0] == f"namespace/{NS} unchanged"
    assert scenario.kubectl_calls()[0] == ["kubectl", "apply", "-f", "-"]


def test_kubeconfig_from_switch_or_environment(scenario, cli, monkeypatch, tmp_path):
    kubeconfig = tmp_path / "a.yaml"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    cli("ns", "apply", NS, "--enforce", "baseline", "--kubeconfig", kubeconfig)
    monkeypatch.setenv("KUBECONFIG", "/tmp/b.yaml")
    cli("ns", "show", NS)
    calls = [c for c in standin_lib.calls(scenario.state) if c["tool"] == "kubectl"]
    assert calls[0]["argv"][:3] == ["kubectl", "--kubeconfig", str(kubeconfig)]
    # $KUBECONFIG reaches kubectl unchanged (it may list several files)
    assert calls[1]["argv"] == ["kubectl", "get", "namespace", NS, "-o", "json"]
    assert calls[1]["env"]["KUBECONFIG"] == "/tmp/b.yaml"


@pytest.mark.parametrize("args, problem", [
    (["--enforce", "strict"], "'strict' is not a Pod Security level"),
    (["--enforce", "restricted", "--enforce-version", "1.25"], "'1.25' is not a Pod Security policy version"),
    (["--enforce", "restricted", "--warn", "baseline", "--warn-version", "v1.05"],
     "'v1.05' is not a Pod Security policy version"),
    (["--enforce", "restricted", "--audit", "Restricted"], "'Restricted' is not a Pod Security level"),
])
def test_invalid_level_or_version_is_rejected_before_any_call(scenario, cli, args, problem):
    code, out, err = cli("ns", "apply", NS, *args)
    assert (code, out) == (2, "")
    assert f"error: {problem}" in err
    assert scenario.kubectl_calls() == []


def test_invalid_namespace_name_is_rejected_before_any_call(scenario, cli):
    code, _, err = cli("ns", "apply", "Team_A", "--enforce", "baseline")
    assert code == 2 and "error: the namespace 'Team_A' is not a valid DNS-1123 label" in err
    assert scenario.kubectl_calls() == []


def test_dry_run_reports_running_pods_that_would_be_rejected_and_changes_nothing(scenario, cli):
    cli("ns", "apply", NS, "--enforce", "baseline")
    scenario.seed(pod("web-6d4cf56db6-2xq9z"), pod("web-6d4cf56db6-8kd7w"), pod("ok", HARDENED),
                  pod("root", {**HARDENED, "runAsUser": 0}))
    before = scenario.objects.get("Namespace", NS)
    code, out, err = cli("ns", "apply", NS, "--enforce", "restricted", "--dry-run")
    assert code == 0, err
    # the same lines `kubectl label --dry-run=server` prints (contracts §5.6), computed by our evaluator
    header, web_pods = contract_text("kubectl/label-ns-dry-run-server.stderr.txt").splitlines()
    assert out.splitlines() == [
        f"namespace/{NS} configured (dry run)",
        f"  {E}enforce=restricted", f"  {E}enforce-version=latest",
        header,
        "Warning: root: runAsUser=0",
        web_pods,
    ]
    assert scenario.objects.get("Namespace", NS) == before
    assert scenario.kubectl_calls()[-2:] == [
        ["kubectl", "apply", "-f", "-", "--dry-run=server"],
        ["kubectl", "get", "pods", "--namespace", NS, "-o", "json"],
    ]


def test_dry_run_json_and_clean_namespace(scenario):
    scenario.seed(pod("ok", HARDENED))
    result = apply_namespace(Kubectl(), NS, PssLabels(enforce=ModePolicy("restricted")), dry_run=True)
    assert result.as_dict() == {
        "namespace": NS, "operation": "created", "dry_run": True,
        "labels": {f"{E}enforce": "restricted", f"{E}enforce-version": "latest"},
        "pods_checked": 1, "would_reject": [], "warnings": [], "not_evaluated": ""}
    assert scenario.objects.get("Namespace", NS) is None


def test_show_lists_levels_in_force_including_unlabeled(scenario, cli):
    cli("ns", "apply", NS, "--enforce", "restricted", "--audit", "baseline", "--audit-version", "v1.30")
    scenario.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    code, out, _ = cli("ns", "show")
    assert code == 0
    unlabeled = "unlabeled (privileged:latest)"
    assert out.splitlines() == [
        "NAMESPACE".ljust(len(NS)) + "  " + "ENFORCE".ljust(29) + "  " + "AUDIT".ljust(29) + "  WARN",
        "default".ljust(len(NS)) + "  " + unlabeled + "  " + unlabeled + "  " + unlabeled,
        NS + "  " + "restricted:latest".ljust(29) + "  " + "baseline:v1.30".ljust(29)
        + "  restricted:latest (follows enforce)",
    ]
    rows = show_namespaces(Kubectl())
    assert [(r.name, r.unlabeled, str(r.effective["warn"])) for r in rows] == [
        ("default", True, "privileged:latest"), (NS, False, "restricted:latest")]
    data = json.loads(cli("ns", "show", "default", "--json")[1])
    assert data == [{"namespace": "default", "unlabeled": True, "exempt": False, "labels": {}, "effective": {
        mode: {"level": "privileged", "version": "latest"} for mode in ("enforce", "audit", "warn")},
        "source": {mode: "built-in default" for mode in ("enforce", "audit", "warn")}}]


@pytest.fixture
def rk_cluster(scenario, tmp_path, monkeypatch):
    """A kind cluster rootlesskube created with `up --pss-default restricted`: its record and kubeconfig."""
    from rootlesskube import cluster

    monkeypatch.setenv("ROOTLESSKUBE_HOME", str(tmp_path / "rk-home"))
    kubeconfig = cluster.kubeconfig_path("rk")
    kubeconfig.parent.mkdir(parents=True)
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    cluster.save_record(cluster.ClusterRecord("rk", "kind", {"name": "rk", "pss_default": "restricted"}, "",
                                              str(kubeconfig), state="ready"))
    for name in ("default", "kube-system"):
        scenario.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return kubeconfig


def test_show_gives_the_cluster_default_of_a_cluster_rootlesskube_created(scenario, cli, rk_cluster, tmp_path):
    for switch in (["--cluster", "rk"], ["--kubeconfig", str(rk_cluster)]):
        code, out, err = cli("ns", "show", *switch)
        assert (code, err) == (0, "")
        assert out.splitlines()[1:] == [
            "default      unlabeled (cluster default restricted:latest)  unlabeled (privileged:latest)  "
            "unlabeled (privileged:latest)",
            "kube-system  exempt (cluster default)                       exempt (cluster default)       "
            "exempt (cluster default)",
        ]
    assert ["kubectl", "--kubeconfig", str(rk_cluster), "get", "namespaces", "-o", "json"] in scenario.kubectl_calls()
    data = json.loads(cli("ns", "show", "default", "--cluster", "rk", "--json")[1])
    assert data[0]["effective"]["enforce"] == {"level": "restricted", "version": "latest"}
    assert data[0]["source"] == {"enforce": "cluster default", "audit": "built-in default",
                                 "warn": "built-in default"}
    # another cluster's kubeconfig: the built-in default, as before
    another = tmp_path / "another.yaml"
    another.write_text("apiVersion: v1\nkind: Config\n")
    code, out, _ = cli("ns", "show", "default", "--kubeconfig", another)
    assert out.splitlines()[1].split()[1:3] == ["unlabeled", "(privileged:latest)"]
    code, _, err = cli("ns", "show", "--cluster", "nope")
    assert code == 1 and "error: rootlesskube knows no cluster named 'nope'" in err


@pytest.mark.parametrize("now, then, evaluated", [
    (["--enforce", "restricted"], ["--enforce", "restricted"], "the enforce policy restricted:latest is unchanged"),
    (["--enforce", "restricted"], ["--enforce", "baseline"],
     "the enforce level is not tightened (restricted:latest -> baseline:latest)"),
    (["--enforce", "baseline"], ["--enforce", "privileged"], "the new enforce level is privileged"),
    (["--enforce", "restricted", "--enforce-version", "v1.30"], ["--enforce", "baseline"], ""),
])
def test_dry_run_evaluates_pods_only_when_enforce_is_tightened(scenario, cli, now, then, evaluated):
    cli("ns", "apply", NS, *now)
    scenario.seed(pod("root", {**HARDENED, "runAsUser": 0}), pod("privileged", {"privileged": True}))
    code, out, err = cli("ns", "apply", NS, *then, "--dry-run", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["not_evaluated"] == evaluated
    if evaluated:
        assert (result["pods_checked"], result["warnings"]) == (0, [])
        assert ["kubectl", "get", "pods", "--namespace", NS, "-o", "json"] not in scenario.kubectl_calls()
    else:
        assert result["pods_checked"] == 2 and [r["pod"] for r in result["would_reject"]] == ["privileged"]


def test_dry_run_in_an_exempt_namespace_evaluates_nothing_and_says_the_labels_are_ignored(scenario, cli,
                                                                                        rk_cluster):
    scenario.seed(pod("privileged", {"privileged": True}) | {"metadata": {"name": "p", "namespace": "kube-system"}})
    # unlabeled kube-system enforces the cluster default restricted:latest; v1.30 is a change
    code, out, err = cli("ns", "apply", "kube-system", "--enforce", "restricted", "--enforce-version", "v1.30",
                         "--audit", "baseline", "--dry-run", "--cluster", "rk")
    assert (code, err) == (0, "")
    assert out.splitlines()[-2:] == [
        'Warning: namespace "kube-system" is exempt from Pod Security, and the policy '
        '(enforce=restricted:v1.30, audit=baseline:latest) will be ignored',
        "existing pods not evaluated: the namespace is exempt from Pod Security"]
    # a cluster default tightens what the unlabeled namespace enforces: restricted there is unchanged
    code, out, _ = cli("ns", "apply", "default", "--enforce", "restricted", "--dry-run", "--cluster", "rk")
    assert out.splitlines()[-1] == "existing pods not evaluated: the enforce policy restricted:latest is unchanged"


def test_show_missing_namespace_is_a_clear_error(scenario, cli):
    code, out, err = cli("ns", "show", "nowhere")
    assert (code, out) == (1, "")
    assert "error: namespace 'nowhere' does not exist on this cluster" in err
    assert "hint: create it: rootlesskube ns apply nowhere --enforce restricted" in err
