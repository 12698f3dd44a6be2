"""`pmm verify` in-pod checks against the kubectl stand-in (the host-side proof runs in test_pmm_podman)."""

from __future__ import annotations

import json

from rootlesskube import cluster
from tests.workloads.pmm_world import UID_MAP_IDENTITY, contract_text, proc_status


def test_a_root_pod_in_the_host_user_namespace_fails_each_check_by_name(cli, world):
    world.create_cluster()
    world.pmm3_running()
    world.pmm3_in_pod(proc_status(uid=0, cap_eff="000001ffffffffff", no_new_privs=0, seccomp=0), UID_MAP_IDENTITY)
    kubeconfig = str(cluster.kubeconfig_path("rk-pmm"))
    code, out, err = cli("pmm", "verify", "--kubeconfig", kubeconfig, "--json")
    assert code == 4
    evidence = json.loads(out)
    assert evidence["failed"] == ["namespace-enforces-restricted", "pid1-uid-1000", "pid1-no-capabilities",
                                  "pid1-no-new-privs", "pid1-seccomp-filter", "uid-map-not-identity",
                                  "host-processes-rootless"]
    values = {c["name"]: c["value"] for c in evidence["checks"]}
    assert values["namespace-enforces-restricted"] == "enforce unlabeled"
    assert values["pod-running-ready"] == "Running, Ready, restarts 0"
    assert values["readyz-200"] == "200 {}"
    assert values["pid1-uid-1000"] == "Uid 0 0 0 0"
    assert values["pid1-no-capabilities"] == "CapEff 000001ffffffffff (CapBnd 000001ffffffffff)"
    assert values["uid-map-not-identity"] == "0 0 4294967295"
    assert values["host-processes-rootless"] == (
        "could not tell: a kubeconfig alone does not say which Podman container is the node")
    assert "error: PMM is not proven rootless: namespace-enforces-restricted: enforce unlabeled; " in err
    readyz = [c for c in world.calls() if "--raw" in c]
    assert readyz[0][-1] == "/api/v1/namespaces/pmm/services/https:pmm-server:443/proxy/v1/server/readyz"


def test_the_table_names_each_failure_with_what_was_expected(cli, world):
    world.create_cluster()
    world.pmm3_running(ready=False)
    world.pmm3_in_pod()
    code, out, err = cli("pmm", "verify", "--kubeconfig", str(cluster.kubeconfig_path("rk-pmm")))
    assert code == 4
    lines = out.splitlines()
    assert "FAIL  pod-running-ready              Running, not Ready, restarts 0  (expected: Running, Ready)" in lines
    assert "ok    pid1-seccomp-filter            Seccomp 2" in lines


def test_verify_without_a_pod_says_to_deploy(cli, world):
    world.create_cluster()
    code, out, err = cli("pmm", "verify", "--cluster", "rk-pmm")
    assert code == 4
    assert "FAIL  pod-running-ready              no pod pmm-server-0 in namespace pmm; run rootlesskube pmm " \
           "deploy  (expected: Running, Ready)" in out.splitlines()
    assert "error: PMM is not proven rootless: namespace-enforces-restricted: enforce unlabeled; " \
           "pod-running-ready: no pod pmm-server-0 in namespace pmm; run rootlesskube pmm deploy" in err
    code, out, _ = cli("pmm", "verify", "--cluster", "rk-pmm", "--namespace", "other", "--json")
    assert code == 4
    evidence = json.loads(out)
    assert (evidence["ok"], evidence["failed"]) == (False, ["namespace-enforces-restricted", "pod-running-ready"])
    assert evidence["checks"][1]["value"] == (
        "no pod pmm-server-0 in namespace other; run rootlesskube pmm deploy --namespace other")


def verify_json(cli):
    code, out, err = cli("pmm", "verify", "--kubeconfig", str(cluster.kubeconfig_path("rk-pmm")), "--json")
    return code, {c["name"]: c for c in json.loads(out)["checks"]}, err


def test_readyz_answering_non_200_fails_naming_readyz_with_the_answer_seen(cli, world):
    from rootlesskube.workloads.pmm_verify import readyz_path

    world.create_cluster()
    world.pmm3_running()
    world.pmm3_in_pod()
    unavailable = "Error from server (ServiceUnavailable): the server is currently unable to handle the request\n"
    world.scenario.raw_error(readyz_path("pmm"), unavailable)
    code, checks, err = verify_json(cli)
    assert code == 4
    assert (checks["readyz-200"]["ok"], checks["readyz-200"]["value"]) == (False, unavailable.strip())
    assert checks["readyz-200"]["expected"] == "200 {}"
    assert f"readyz-200: {unavailable.strip()}" in err
    assert checks["pid1-uid-1000"]["ok"] is True


def test_kubectl_exec_failing_fails_the_in_pod_checks_with_kubectls_message(cli, world):
    world.create_cluster()
    world.pmm3_running()
    world.pmm3_in_pod()
    for path in ("/proc/1/status", "/proc/1/uid_map"):
        world.scenario.exec_output("pmm-server-0", "pmm", ["cat", path], "", code=3)
    code, checks, _ = verify_json(cli)
    assert code == 4
    message = contract_text("kubectl/exec.nonzero.stderr.txt").strip()  # command terminated with exit code 3
    for name in ("pid1-uid-1000", "pid1-no-capabilities", "pid1-no-new-privs", "pid1-seccomp-filter",
                 "uid-map-not-identity"):
        assert (checks[name]["ok"], checks[name]["value"]) == (False, f"kubectl exec failed: {message}")
    assert checks["readyz-200"]["ok"] is True
