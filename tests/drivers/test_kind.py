"""`up`/`down`/`status` with the kind driver against the kind and kubectl stand-ins."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest
import yaml

from rootlesskube import cluster, paths
from tests.conftest import CONTRACTS

KIND_KUBECONFIG = (CONTRACTS / "kind/get-kubeconfig.ok.stdout.txt").read_text()


def kubeconfig_file(name="rk-dev"):
    return cluster.kubeconfig_path(name)


def test_up_creates_the_cluster_and_prints_the_export_line(cli, standins):
    code, out, err = cli("up", "--name", "rk-dev")
    assert code == 0, err
    kubeconfig = kubeconfig_file()
    assert out == f"export KUBECONFIG={kubeconfig}\n"
    # kind's extra blank line is gone; the rest is byte for byte what kind printed
    assert kubeconfig.read_text() == KIND_KUBECONFIG.rstrip("\n") + "\n"
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    creates = [c for c in standins.calls("kind") if c["argv"][1:3] == ["create", "cluster"]]
    assert len(creates) == 1
    config = str(paths.state_dir() / "clusters/rk-dev/kind-config.yaml")
    assert creates[0]["argv"] == ["kind", "create", "cluster", "--name", "rk-dev", "--config", config,
                                  "--wait", "5m", "--kubeconfig", str(kubeconfig), "--retain"]
    assert all(c["env"].get("KIND_EXPERIMENTAL_PROVIDER") == "podman" for c in standins.calls("kind"))
    assert standins.argvs("kubectl") == [["kubectl", "--kubeconfig", str(kubeconfig), "wait",
                                          "--for=condition=Ready", "node", "--all", "--timeout=300s"]]
    record = cluster.load_record("rk-dev")
    assert (record.driver, record.state, record.default_storage_class) == ("kind", "ready", True)
    for step in ("check the host for kind (doctor)", "create the cluster 'rk-dev'", "wait until every node is Ready"):
        assert f"   ok: {step} (" in err


def test_second_up_reuses_and_changes_nothing(cli, standins):
    assert cli("up", "--name", "rk-dev")[0] == 0
    before = len(standins.calls("kind"))
    code, out, err = cli("up", "--name", "rk-dev", "--json")
    assert code == 0, err
    assert "already exists with the same spec: reusing it" in err
    data = json.loads(out)
    assert (data["name"], data["reused"], data["state"]) == ("rk-dev", True, "ready")
    kinds = [c["argv"][1:3] for c in standins.calls("kind")[before:]]
    assert kinds == [["get", "clusters"], ["get", "kubeconfig"]]  # looked, refreshed the kubeconfig, no create


def test_changed_spec_is_refused_and_recreate_replaces(cli, standins):
    assert cli("up", "--name", "rk-dev")[0] == 0
    code, out, err = cli("up", "--name", "rk-dev", "--pss-default", "restricted")
    assert code == 2
    assert "exists with a different spec (pss_default: None -> 'restricted')" in err
    assert "hint: `rootlesskube up --name rk-dev --recreate` replaces it" in err
    code, out, err = cli("up", "--name", "rk-dev", "--pss-default", "restricted", "--recreate")
    assert code == 0, err
    verbs = [c["argv"][1:3] for c in standins.calls("kind")]
    assert verbs.count(["delete", "cluster"]) == 1 and verbs.count(["create", "cluster"]) == 2
    assert cluster.load_record("rk-dev").spec["pss_default"] == "restricted"


def test_pss_default_mounts_the_admission_configuration(cli, standins):
    assert cli("up", "--name", "rk-dev", "--pss-default", "baseline")[0] == 0
    folder = paths.state_dir() / "clusters/rk-dev"
    config = yaml.safe_load((folder / "kind-config.yaml").read_text())
    contract = yaml.safe_load((CONTRACTS / "kind/cluster-config.psa.yaml").read_text())
    plane = config["nodes"][0]
    assert plane["extraMounts"] == [{"hostPath": str(folder / "pod-security.yaml"),
                                     "containerPath": "/etc/kubernetes/policies/pod-security.yaml", "readOnly": True}]
    assert yaml.safe_load(plane["kubeadmConfigPatches"][0]) == yaml.safe_load(
        contract["nodes"][0]["kubeadmConfigPatches"][0])
    admission = yaml.safe_load((folder / "pod-security.yaml").read_text())
    assert admission["plugins"][0]["configuration"]["defaults"]["enforce"] == "baseline"


def test_a_cluster_this_tool_did_not_create_is_neither_reused_nor_deleted(cli, standins):
    standins.scenario("kind")  # nothing special: create one behind our back
    from rootlesskube.drivers.base import ClusterSpec
    from rootlesskube.drivers.kind import KindDriver

    KindDriver().create(ClusterSpec("rk-dev"))
    code, out, err = cli("up", "--name", "rk-dev")
    assert code == 1
    assert "a kind cluster named 'rk-dev' exists, but rootlesskube did not create it" in err
    code, out, err = cli("down", "--name", "rk-dev")
    assert code == 1
    assert "never deletes a cluster it did not create" in err
    assert "rk-dev" in standins.tool_state("kind")["clusters"]
    assert cli("down", "--name", "rk-dev", "--force")[0] == 0
    assert standins.tool_state("kind")["clusters"] == {}


def test_rootless_without_delegation_fails_with_the_fix(cli, standins):
    standins.scenario("kind", create="rootless-no-delegation")
    code, out, err = cli("up", "--name", "rk-dev")
    assert code == 1
    assert "kind refuses rootless Podman here: the cpu, memory and pids cgroup controllers are not delegated" in err
    assert "hint: add a user@.service drop-in with Delegate=cpu cpuset io memory pids" in err
    assert out == ""
    assert cluster.load_record("rk-dev") is None and not kubeconfig_file().exists()


def test_node_boot_failure_collects_logs_then_deletes(cli, standins):
    standins.scenario("kind", create="node-boot-failure")
    code, out, err = cli("up", "--name", "rk-dev")
    assert code == 1
    assert "kind could not read the node container's boot log (rootless Podman's log driver)" in err
    assert 'hint: set log_driver = "k8s-file" in the [containers] table of ~/.config/containers/containers.conf' in err
    logs = [line for line in err.splitlines() if line.startswith("logs of the failed bring-up: ")]
    assert len(logs) == 1
    folder = logs[0].split(": ", 1)[1]
    assert os.path.isfile(os.path.join(folder, "kind-version.txt"))
    assert "deleted the half-created cluster 'rk-dev'" in err
    assert standins.tool_state("kind")["clusters"] == {}
    assert cluster.load_record("rk-dev") is None


def test_keep_on_failure_keeps_it_and_prints_the_removal_command(cli, standins):
    standins.scenario("kind", create="node-boot-failure")
    code, out, err = cli("up", "--name", "rk-dev", "--keep-on-failure")
    assert code == 1
    assert ("kept cluster 'rk-dev' for debugging (--keep-on-failure); remove it with: rootlesskube down --name rk-dev"
            "   (or: env KIND_EXPERIMENTAL_PROVIDER=podman kind delete cluster --name rk-dev --kubeconfig "
            f"{cluster.kubeconfig_path('rk-dev')})") in err
    assert list(standins.tool_state("kind")["clusters"]) == ["rk-dev"]
    assert cluster.load_record("rk-dev").state == "failed"
    assert cli("down", "--name", "rk-dev")[0] == 0
    assert standins.tool_state("kind")["clusters"] == {}


def test_wait_timeout_is_not_ready(cli, standins):
    standins.scenario("kind", create="wait-timeout")
    standins.scenario("kubectl", nodes="notready")
    code, out, err = cli("up", "--name", "rk-dev")
    assert code == 1
    assert "warning: kind timed out after 5m waiting for the control plane" in err
    assert ("the nodes of cluster 'rk-dev' did not become Ready within 300s (kind had already reported a timeout): "
            "error: timed out waiting for the condition on nodes/rk-dev-control-plane") in err
    assert standins.tool_state("kind")["clusters"] == {}


def test_a_hung_create_hits_its_timeout_and_is_cleaned_up(cli, standins, monkeypatch):
    monkeypatch.setenv("RK_STANDIN_HANG", "kind create")
    started = time.monotonic()
    code, out, err = cli("up", "--name", "rk-dev", "--timeout", "2")
    assert time.monotonic() - started < 20
    assert code == 1
    assert "did not finish within 2s and was stopped" in err
    verbs = [c["argv"][1:3] for c in standins.calls("kind")]
    assert verbs[-1] == ["delete", "cluster"]
    assert cluster.load_record("rk-dev") is None


def test_second_up_on_the_same_name_fails_at_once_on_the_lock(cli, standins):
    with paths.exclusive_lock(paths.state_dir() / "locks" / "rk-dev.lock", "test"):
        code, out, err = cli("up", "--name", "rk-dev")
    assert code == 1
    assert "another rootlesskube run is already working on cluster 'rk-dev'" in err
    assert standins.calls("kind") == []


def test_a_host_that_is_not_ready_stops_up_with_exit_3(cli, standins, monkeypatch):
    from rootlesskube.host.model import FAIL, CheckResult
    from tests.drivers.passing_doctor import Report

    report = Report([CheckResult("cgroup.v2", FAIL, "cgroup v2 is not the only hierarchy", "hybrid",
                                 fix="boot with systemd.unified_cgroup_hierarchy=1")])
    monkeypatch.setattr(cluster, "DOCTOR", lambda driver: report)
    code, out, err = cli("up", "--name", "rk-dev")
    assert code == 3
    assert ("error: the host is not ready for kind:\n  [fail] cgroup.v2: cgroup v2 is not the only hierarchy: hybrid\n"
            "      boot with systemd.unified_cgroup_hierarchy=1\n") in err
    assert standins.calls() == []


def test_status_reports_driver_nodes_ready_endpoint_and_kubeconfig(cli, standins):
    assert cli("up", "--name", "rk-dev")[0] == 0
    code, out, err = cli("status", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert rows == [{
        "name": "rk-dev", "driver": "kind", "exists": True, "state": "ready", "lifecycle": "running",
        "containers": [{"name": "rk-dev-control-plane", "state": "running", "podman_state": "running"}],
        "nodes": [{"name": "rk-dev-control-plane", "ready": True}], "ready": True,
        "api_endpoint": "https://127.0.0.1:41235", "kubeconfig": str(kubeconfig_file()),
        "default_storage_class": True, "detail": "",
    }]


def test_status_lists_every_known_cluster(cli, standins):
    # (the kubectl stand-in has one object store for all clusters, so only names are compared here)
    assert cli("up", "--name", "rk-dev")[0] == 0
    assert cli("up", "--name", "rk-two")[0] == 0
    code, out, err = cli("status", "--json")
    assert [r["name"] for r in json.loads(out)] == ["rk-dev", "rk-two"]
    code, out, err = cli("status", "--name", "rk-two")
    assert code == 0
    assert "rk-two\n  driver:      kind\n  exists:      yes\n  ready:       yes" in out


def test_down_deletes_and_forgets(cli, standins):
    assert cli("up", "--name", "rk-dev")[0] == 0
    code, out, err = cli("down", "--name", "rk-dev")
    assert code == 0, err
    assert "cluster 'rk-dev' deleted" in err
    assert standins.tool_state("kind")["clusters"] == {}
    assert not kubeconfig_file().exists() and cluster.load_record("rk-dev") is None
    code, out, err = cli("status", "--json")
    assert json.loads(out) == []


def test_bad_name_and_unknown_driver_are_usage_errors(cli, standins):
    code, out, err = cli("up", "--name", "RK_dev")
    assert code == 2 and "the cluster name 'RK_dev' is not a valid DNS-1123 label" in err
    code, out, err = cli("up", "--driver", "k3d")
    assert code == 2 and "k3d" in err
    assert standins.calls() == []


def test_load_image_uses_an_archive(standins, tmp_path):
    from rootlesskube.drivers import get_driver
    from rootlesskube.drivers.base import ClusterSpec
    from rootlesskube.errors import RootlesskubeError

    driver = get_driver("kind")
    driver.create(ClusterSpec("rk-dev"))
    archive = tmp_path / "app.tar"
    archive.write_bytes(b"not really a tar")
    driver.load_image("rk-dev", archive)
    assert standins.argvs("kind")[-1] == ["kind", "load", "image-archive", str(archive), "--name", "rk-dev"]
    assert driver.node_containers("rk-dev") == ["rk-dev-control-plane"]
    try:
        driver.load_image("rk-dev", tmp_path / "missing.tar")
    except RootlesskubeError as exc:
        assert str(exc) == f"the image archive {tmp_path / 'missing.tar'} does not exist"
    else:
        raise AssertionError("a missing archive was accepted")


PINNED_V1_36_1 = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5"


def test_kubernetes_version_selects_its_digest_pinned_node_image(cli, standins):
    code, out, err = cli("up", "--name", "rk-dev", "--kubernetes", "v1.36.1", "--workers", "1")
    assert code == 0, err
    create = next(c["argv"] for c in standins.calls("kind") if c["argv"][1:3] == ["create", "cluster"])
    assert create[create.index("--image") + 1] == PINNED_V1_36_1
    config = yaml.safe_load((paths.state_dir() / "clusters/rk-dev/kind-config.yaml").read_text())
    assert [n.get("image") for n in config["nodes"]] == [PINNED_V1_36_1, PINNED_V1_36_1]
    assert cluster.load_record("rk-dev").spec["kubernetes"] == "v1.36.1"


def test_a_kubernetes_version_without_a_pinned_image_is_refused_naming_node_image(cli, standins):
    code, out, err = cli("up", "--name", "rk-dev", "--kubernetes", "v1.30.0")
    assert code == 2
    assert ("error: kind selects Kubernetes by node image, and rootlesskube has no digest-pinned kindest/node image "
            "for v1.30.0 (known: v1.36.1)") in err
    assert "hint: pass --node-image kindest/node:VERSION@sha256:DIGEST from the kind release notes" in err
    assert standins.calls() == [] and cluster.load_record("rk-dev") is None


def test_kubernetes_and_a_node_image_of_another_version_are_refused(cli, standins):
    image = "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f"
    code, out, err = cli("up", "--name", "rk-dev", "--kubernetes", "v1.36.1", "--node-image", image)
    assert code == 2
    assert f"error: --kubernetes v1.36.1 and --node-image {image} disagree" in err
    assert standins.calls() == []


def test_a_runtime_kind_cannot_use_is_refused(cli, standins):
    code, out, err = cli("up", "--name", "rk-dev", "--container-runtime", "cri-o")
    assert code == 2
    assert "error: the kind driver cannot honour --container-runtime: kind nodes always run containerd" in err
    assert standins.calls() == []


def test_the_admission_configuration_exempts_kindnet_and_the_storage_provisioner(standins):
    from rootlesskube.drivers.base import ClusterSpec
    from rootlesskube.drivers.kind import KindDriver
    from rootlesskube.pss.admission import exemptions_for

    KindDriver().write_config(ClusterSpec("rk-dev", pss_default="restricted"))
    admission = yaml.safe_load((paths.state_dir() / "clusters/rk-dev/pod-security.yaml").read_text())
    configuration = admission["plugins"][0]["configuration"]
    assert configuration["exemptions"] == {"usernames": [], "runtimeClasses": [],
                                           "namespaces": ["kube-system", "local-path-storage"]}
    assert configuration["exemptions"]["namespaces"] == exemptions_for("kindnet", extra=["local-path-storage"])
    assert configuration["defaults"]["enforce"] == "restricted"


def test_up_json_on_a_host_that_is_not_ready_prints_the_doctor_report(cli, standins, monkeypatch):
    from rootlesskube.host.model import FAIL, CheckResult
    from tests.drivers.passing_doctor import Report

    report = Report([CheckResult("cgroup.v2", FAIL, "cgroup v2 is not the only hierarchy", "hybrid",
                                 fix="boot with systemd.unified_cgroup_hierarchy=1")])
    monkeypatch.setattr(cluster, "DOCTOR", lambda driver: report)
    code, out, err = cli("up", "--name", "rk-dev", "--json")
    assert code == 3
    assert json.loads(out) == json.loads(json.dumps(report.as_dict()))
    assert json.loads(out)["checks"][0]["id"] == "cgroup.v2"
    assert "the host is not ready for kind:" in err
    assert standins.calls() == []


def test_delete_of_a_missing_cluster_is_fine(standins):
    from rootlesskube.drivers.kind import KindDriver

    KindDriver().delete("nope")  # kind delete is idempotent (contracts §1.6)
    assert standins.argvs("kind") == [["kind", "delete", "cluster", "--name", "nope", "--kubeconfig",
                                       str(cluster.kubeconfig_path("nope"))]]


def test_kinds_own_already_exists_is_ours_and_the_cluster_is_not_touched(cli, standins, monkeypatch):
    from rootlesskube.drivers.base import ClusterSpec
    from rootlesskube.drivers.kind import KindDriver

    KindDriver().create(ClusterSpec("rk-dev"))  # someone else's, created between our look and our create
    monkeypatch.setattr(KindDriver, "exists", lambda self, name: False)
    code, out, err = cli("up", "--name", "rk-dev")
    assert code == 1
    assert "error: a kind cluster named 'rk-dev' already exists" in err
    assert "hint: `rootlesskube up --name rk-dev` reuses it; `--recreate` replaces it" in err
    assert ["delete", "cluster"] not in [c["argv"][1:3] for c in standins.calls("kind")]
    assert "rk-dev" in standins.tool_state("kind")["clusters"]
    assert cluster.load_record("rk-dev") is None


def test_the_provider_is_checked_before_already_exists(standins):
    from rootlesskube.drivers.base import ClusterSpec
    from rootlesskube.drivers.kind import KindDriver
    from rootlesskube.errors import RootlesskubeError

    KindDriver().create(ClusterSpec("rk-dev"))
    standins.scenario("kind", create="rootless-no-delegation")
    try:
        KindDriver().create(ClusterSpec("rk-dev"))
    except RootlesskubeError as exc:
        assert "requires setting systemd property" in str(exc)
    else:
        raise AssertionError("the second create succeeded")


@pytest.mark.parametrize("image", ["kindest/node:v1.36.1", "kindest/node:v1.36.1@sha256:abc"])
def test_a_node_image_without_a_full_digest_is_refused_before_any_call(cli, standins, image):
    code, out, err = cli("up", "--name", "rk-dev", "--node-image", image)
    assert code == 2 and f"the node image {image!r} is not pinned by a full digest" in err
    assert standins.calls("kind") == []


def test_down_never_touches_the_users_kubeconfig(cli, standins, monkeypatch, tmp_path):
    """`kind delete cluster` without --kubeconfig locks and edits $KUBECONFIG or ~/.kube/config and creates
    the folder (pkg/cluster/internal/kubeconfig/internal/kubeconfig/remove.go, lock.go @cda67ef)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert cli("up", "--name", "rk-dev")[0] == 0
    assert cli("down", "--name", "rk-dev")[0] == 0
    assert not (home / ".kube").exists()
    deletes = [c["argv"] for c in standins.calls("kind") if c["argv"][1:3] == ["delete", "cluster"]]
    assert deletes == [["kind", "delete", "cluster", "--name", "rk-dev", "--kubeconfig",
                        str(cluster.kubeconfig_path("rk-dev"))]]


def test_export_logs_that_fails_part_way_keeps_what_it_wrote(cli, standins):
    """kind prints the folder, runs every collector and aggregates their errors (logs.go runE;
    podman provider CollectLogs, errors.AggregateConcurrent; kind/export-logs.partial.stderr.txt)."""
    standins.scenario("kind", create="node-boot-failure", export="partial")
    code, out, err = cli("up", "--name", "rk-dev")
    assert code == 1
    logs = [line for line in err.splitlines() if line.startswith("logs of the failed bring-up: ")]
    assert len(logs) == 1
    folder = logs[0].split(": ", 1)[1]
    assert os.path.isfile(os.path.join(folder, "kind-version.txt"))
    assert (f"warning: kind export logs could not collect everything into {folder}: command "
            '"podman inspect rk-dev-control-plane" failed with error: exit status 125') in err


def test_the_storage_provisioner_needs_its_exemption_under_a_cluster_default(standins):
    """kind's local-path-provisioner (pkg/build/nodeimage/const_storage.go @cda67ef; its pod templates in
    tests/contracts/kind/local-path-provisioner.pods.yaml) is rejected by baseline and restricted, so a PVC
    of PMM would never bind unless local-path-storage is exempt; the admission configuration exempts it."""
    from rootlesskube.drivers.base import ClusterSpec
    from rootlesskube.drivers.kind import KindDriver
    from rootlesskube.pss.evaluator import evaluate
    from tests.conftest import TESTS

    pods = list(yaml.safe_load_all((TESTS / "contracts/kind/local-path-provisioner.pods.yaml").read_text()))
    assert [evaluate(pod, "restricted").allowed for pod in pods] == [False, False]
    assert [evaluate(pod, "baseline").allowed for pod in pods] == [True, False]  # the helper's hostPath
    for level in ("baseline", "restricted"):
        KindDriver().write_config(ClusterSpec("rk-dev", pss_default=level))
        admission = yaml.safe_load((paths.state_dir() / "clusters/rk-dev/pod-security.yaml").read_text())
        configuration = admission["plugins"][0]["configuration"]
        assert "local-path-storage" in configuration["exemptions"]["namespaces"]
        assert configuration["defaults"]["enforce"] == level
