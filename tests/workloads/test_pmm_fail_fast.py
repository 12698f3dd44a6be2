"""What waiting cannot fix: PMM 2's chown-first crash, pods that will never start, too little memory.

Kubelet texts: the CreateContainerConfigError message is makeEnvironmentVariables' `couldn't find key %v in
Secret %v/%v`, and `logs --previous` without a terminated predecessor is validateContainerLogStatus'
error (kubernetes/kubernetes pkg/kubelet/kubelet_pods.go @ 001a80e9). The image-pull messages are
illustrations of the kubelet's form; deploy prints whatever message the pod carries.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from rootlesskube.workloads import pmm
from tests.workloads.pmm_world import PMM2_CHOWN_LOG

GB = 10 ** 9


def deploy(cli, archive, *extra, wait="2s"):
    return cli("pmm", "deploy", "--cluster", "rk-pmm", "--image-archive", archive, "--wait", wait, *extra)


# --- 1. the PMM 2 negative control cannot fail by timing ---
def test_pmm2_control_holds_when_the_first_start_died_in_the_entrypoints_chown(cli, world, archive):
    world.ns = pmm.CONTROL_NAMESPACE
    world.create_cluster()
    world.pmm2_rejected()
    world.pmm2_chown_first()
    code, out, err = deploy(cli, archive, "--version", "2", "--expect-failure", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["outcome"] == "negative control held"
    secure = report["control"][1]
    line = "chown: changing ownership of '/srv/grafana/PERCONA_DASHBOARDS_VERSION': Operation not permitted"
    assert (secure["crash_evidence"], secure["crash_log"], secure["crash_line"]) == \
        ("entrypoint chown", "previous", line)
    assert secure["seen"] == f"Running, not Ready, last exit 1 (Error), restarts 1; previous log (entrypoint chown): {line}"
    logs = [c for c in world.calls() if "logs" in c]
    assert logs[-1][-3:] == ["pmm-server", "--previous", "--tail=40"]


def test_the_stand_in_refuses_previous_logs_without_a_terminated_container(cli, world, archive):
    """What the kubelet answers, so a control that reads --previous too early sees an error, not a line."""
    import subprocess

    world.create_cluster()
    world.pmm3_running()
    world.scenario.logs(pmm.POD, world.ns, PMM2_CHOWN_LOG, previous=True)
    result = subprocess.run(["kubectl", "logs", pmm.POD, "--namespace", world.ns, "-c", pmm.CONTAINER, "--previous"],
                            capture_output=True, text=True, env={**__import__("os").environ, **world.env()})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ('Error from server (BadRequest): previous terminated container "pmm-server" in pod '
                             '"pmm-server-0" not found\n')


def test_pmm2_crash_without_a_nonroot_line_is_waited_for_then_reported(cli, world, archive):
    world.ns = pmm.CONTROL_NAMESPACE
    world.create_cluster()
    world.pmm2_rejected()
    world.pmm2_crashlooping()
    world.scenario.logs(pmm.POD, world.ns, "some other failure\n")
    world.scenario.logs(pmm.POD, world.ns, "", previous=True)
    started = time.monotonic()
    code, out, _ = deploy(cli, archive, "--version", "2", "--expect-failure", "--json")
    assert time.monotonic() - started >= 2.0  # it kept reading until the wait ended
    assert code == 4
    secure = json.loads(out)["control"][1]
    assert (secure["crashed"], secure["crash_line"], secure["as_expected"]) == (True, None, False)
    assert secure["seen"] == ("Running, not Ready, waiting: CrashLoopBackOff, last exit 2 (Error), restarts 2; "
                              "no non-root failure line in the current or previous log after 2s")


# --- 2. deploy fails fast on what will never start ---
def test_an_existing_secret_without_the_password_key_is_refused_before_anything_is_applied(cli, world, archive):
    world.create_cluster()
    world.scenario.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pmm", "labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}})
    world.scenario.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": pmm.SECRET, "namespace": "pmm"},
                         "data": {"password": "c2VjcmV0"}})
    code, out, err = deploy(cli, archive, wait="10m")
    assert (code, out) == (1, "")
    assert ("error: Secret pmm-secret in namespace pmm has no key PMM_ADMIN_PASSWORD, which PMM's admin password "
            "comes from: the pod would wait in CreateContainerConfigError") in err
    assert "hint: `kubectl -n pmm delete secret pmm-secret` and deploy again (a new password is generated)" in err
    assert world.stored("StatefulSet", pmm.NAME) is None


IMAGE = "docker.io/percona/pmm-server:3.8.1"
STUCK = [
    ("CreateContainerConfigError", "couldn't find key PMM_ADMIN_PASSWORD in Secret pmm/pmm-secret",
     "the Secret pmm-secret lacks what the pod reads: `kubectl -n pmm delete secret pmm-secret` and deploy again"),
    ("ErrImagePull", f'failed to pull and unpack image "{IMAGE}": not found',
     f"the node cannot get {IMAGE}: check its name and tag, or load it from an archive with --image-archive FILE"),
    ("ImagePullBackOff", f'Back-off pulling image "{IMAGE}"',
     f"the node cannot get {IMAGE}: check its name and tag"),
    ("CreateContainerError", "context deadline exceeded",
     "fix what the message names (`kubectl -n pmm describe pod pmm-server-0`), then deploy again"),
]


@pytest.mark.parametrize("reason,message,hint", STUCK)
def test_a_pod_that_will_never_start_stops_the_wait_at_once(cli, world, archive, reason, message, hint):
    world.create_cluster()
    world.pmm3_waiting(reason, message)
    world.event("Pod", pmm.POD, "Failed", f"Error: {reason}", count=3)
    started = time.monotonic()
    code, out, err = deploy(cli, archive, wait="10m")
    assert time.monotonic() - started < 60  # not the 10 minutes
    assert (code, out) == (4, "")
    assert (f"error: pod pmm/pmm-server-0 will not start: {reason}: {message}\n"
            f"events:\n  Warning Failed (x3): Error: {reason}\n") in err
    assert f"hint: {hint}" in err


def test_pmm2_control_reports_an_image_it_cannot_pull_at_once(cli, world, archive):
    world.ns = pmm.CONTROL_NAMESPACE
    world.create_cluster()
    world.pmm2_rejected()
    world.pmm3_waiting("ErrImagePull", "not found")
    started = time.monotonic()
    code, out, _ = deploy(cli, archive, "--version", "2", "--expect-failure", "--json", wait="10m")
    assert time.monotonic() - started < 60 and code == 4
    assert json.loads(out)["control"][1]["seen"] == "will not start: ErrImagePull: not found"


# --- 3. memory ---
@pytest.mark.parametrize("quantity,warned", [("2013264Ki", True), ("3984588Ki", False), ("32613592Ki", False)])
def test_deploy_warns_when_no_node_has_the_memory_percona_asks_for(cli, world, archive, quantity, warned):
    """2013264Ki: a 2 GB machine; 3984588Ki: the MemTotal of a 4 GiB VM (4.08 GB); 32613592Ki: the contract."""
    world.create_cluster()
    world.node_memory(quantity)
    world.pmm3_running()
    code, out, err = deploy(cli, archive, "--json")
    assert code == 0, err
    note = ("node rk-pmm-control-plane has 2.1 GB of memory, below the 4 GB Percona asks for PMM 3 (PMM requests "
            "2Gi and needs more under load): give the machine (or VM) at least 4 GB of memory, or run PMM 3.9.0 "
            "or later with PMM_CLICKHOUSE_CONFIG=low-memory (ClickHouse's profile for small hosts)")
    assert (note in json.loads(out)["notes"]) is warned
    assert (f"warning: {note}" in err) is warned
    assert ("PMM_CLICKHOUSE_CONFIG" in err) is warned


def _doctor_memory(monkeypatch, total: int):
    import os
    import pwd

    import psutil

    from rootlesskube.host.doctor import run_doctor
    from rootlesskube.host.view import HostView
    from tests.conftest import STANDINS

    monkeypatch.setenv("PATH", f"{STANDINS}{os.pathsep}{os.environ['PATH']}")  # kubectl: the stand-in
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(total=total))
    report = run_doctor(HostView("/"), pwd.getpwuid(os.getuid()).pw_name, "kind")
    return report.get("resources.memory")


@pytest.mark.parametrize("total,status", [(2 * 1024 ** 3 + 1, "warn"), (int(3.8 * 1024 ** 3), "pass"),
                                          (1024 ** 3, "fail")])
def test_the_doctor_grades_memory_against_percona_with_the_choice(monkeypatch, total, status):
    """Percona: "recommended: 2+ CPU cores, 4+ GB RAM" (percona/pmm docker/index.md @ 0ac50db4); a 4 GiB VM
    (MemTotal about 3.8 GiB = 4.08 GB) has it."""
    check = _doctor_memory(monkeypatch, total)
    assert check.status == status
    assert check.detail.startswith(f"{total / GB:.1f} GB total (psutil)")
    if status == "warn":
        assert check.detail.endswith(": Percona asks for 4+ GB for PMM 3 (the default workload)")
        assert check.fix == pmm.MEMORY_CHOICE
        assert "PMM_CLICKHOUSE_CONFIG=low-memory" in check.fix
    elif status == "fail":
        assert check.fix == "give the machine (VM) more memory, or use a larger host"
    else:
        assert check.fix is None
