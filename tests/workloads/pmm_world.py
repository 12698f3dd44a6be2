"""A stand-in cluster for the PMM tests: a kind cluster (stand-in), its record, and PMM's pod states.

Texts come from ../shared: the PodSecurity warning is contracts/kubectl/
apply.psa-warning.stderr.txt with the container renamed; the FailedCreate
event message and the PMM 2 log lines are the blog's verbatim output
(seeds/pmm3-rootless-blog.md); uid maps are contracts/podman's kernel format.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

from rootlesskube import cluster
from rootlesskube.workloads import pmm
from tests.conftest import SHARED, STANDINS

sys.path.insert(0, str(STANDINS))
from kube_scenario import Scenario, contract_text  # noqa: E402

BLOG = (SHARED / "seeds" / "pmm3-rootless-blog.md").read_text()
FAILED_CREATE = next(line for line in BLOG.splitlines() if line.startswith("Warning  FailedCreate"))
FAILED_CREATE_MESSAGE = FAILED_CREATE.split("statefulset-controller  ", 1)[1]
BLOG_VIOLATION = FAILED_CREATE_MESSAGE.split("is forbidden: ", 1)[1]
PMM2_LOG = "Error: Can't drop privilege as nonroot user\nFor help, use /usr/local/bin/supervisord -h\n"
PMM3_START_LOG = "Running as UID:GID 1000:1000, setting up for arbitrary UID...\n"
# PMM 2's entrypoint on a fresh /srv as uid 1000 (tests/contracts/README.md): the chown fails under errexit.
PMM2_CHOWN_LOG = (Path(__file__).resolve().parents[1] / "contracts" / "pmm2" / "entrypoint-chown.log.txt").read_text()
UID_MAP_ROOTLESS = contract_text("podman/unshare-uid_map.stdout.txt")
UID_MAP_IDENTITY = contract_text("podman/uid_map.host.stdout.txt")


def proc_status(uid: int = 1000, cap_eff: str = "0000000000000000", no_new_privs: int = 1, seccomp: int = 2) -> str:
    """The fields of /proc/PID/status that pmm verify reads, in the kernel's layout (tab after the colon)."""
    ids = "\t".join([str(uid)] * 4)
    return (f"Name:\tsupervisord\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t1\nPPid:\t0\n"
            f"Uid:\t{ids}\nGid:\t{ids}\nCapInh:\t0000000000000000\nCapPrm:\t{cap_eff}\nCapEff:\t{cap_eff}\n"
            f"CapBnd:\t{cap_eff}\nCapAmb:\t0000000000000000\nNoNewPrivs:\t{no_new_privs}\nSeccomp:\t{seccomp}\n"
            "Seccomp_filters:\t1\n")


class PmmWorld:
    def __init__(self, state: Path, home: Path, cluster_name: str, namespace: str = pmm.DEFAULT_NAMESPACE):
        self.state, self.home, self.name, self.ns = state, home, cluster_name, namespace
        self.scenario = Scenario(state)
        self.node = f"{cluster_name}-control-plane"

    def env(self) -> dict:
        return {"PATH": f"{STANDINS}{os.pathsep}{os.environ['PATH']}", "RK_STANDIN_STATE": str(self.state),
                "ROOTLESSKUBE_HOME": str(self.home), "NO_COLOR": "1"}

    def create_cluster(self, default_storage_class: bool = True) -> None:
        """`kind create cluster` (the stand-in: Node object, kubeconfig) and rootlesskube's record of it."""
        kubeconfig = cluster.kubeconfig_path(self.name)
        env = {**os.environ, **self.env(), "KIND_EXPERIMENTAL_PROVIDER": "podman"}
        subprocess.run(["kind", "create", "cluster", "--name", self.name, "--kubeconfig", str(kubeconfig)],
                       env=env, check=True, capture_output=True)
        record = cluster.ClusterRecord(self.name, "kind", {}, "", str(kubeconfig), state="ready")
        cluster.save_record(record)
        if default_storage_class:
            self.scenario.seed({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                                "metadata": {"name": "standard", "annotations": {
                                    "storageclass.kubernetes.io/is-default-class": "true"}},
                                "provisioner": "rancher.io/local-path"})

    def pod(self, sts: dict, status: dict) -> dict:
        spec = copy.deepcopy(sts["spec"]["template"]["spec"])
        spec["nodeName"] = self.node
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pmm.POD, "namespace": self.ns, "labels": {"app": pmm.NAME}},
                "spec": spec, "status": status}

    def event(self, kind: str, name: str, reason: str, message: str, count: int = 1, type_: str = "Warning",
              uid: Optional[str] = None, on_apply: bool = False) -> None:
        """An Event about kind/name: stored now (naming `uid`), or, with on_apply, when the test's run
        applies that object (naming the uid the apply gives it, as the controller's event does)."""
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": f"{name}.{reason.lower()}", "namespace": self.ns},
                 "involvedObject": {"kind": kind, "name": name, "namespace": self.ns, "uid": uid},
                 "reason": reason, "type": type_, "count": count, "message": message,
                 "lastTimestamp": "2025-02-19T10:00:00Z"}
        if on_apply:
            self.scenario.event_on_apply(kind, name, self.ns, event)
        else:
            self.scenario.seed(event)

    # --- pod states ---
    def pmm3_running(self, ready: bool = True) -> None:
        status = {"phase": "Running",
                  "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                  "containerStatuses": [{"name": pmm.CONTAINER, "ready": ready, "restartCount": 0,
                                         "state": {"running": {"startedAt": "2025-02-19T10:00:00Z"}}}]}
        self.scenario.seed(self.pod(pmm.statefulset_pmm3(), status))

    def pmm3_pending(self) -> None:
        """Not scheduled: no node, no container status."""
        status = {"phase": "Pending",
                  "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}
        pod = self.pod(pmm.statefulset_pmm3(), status)
        del pod["spec"]["nodeName"]
        self.scenario.seed(pod)

    def pmm3_in_pod(self, status_text: Optional[str] = None, uid_map: str = UID_MAP_ROOTLESS) -> None:
        from rootlesskube.workloads.pmm_verify import readyz_path

        self.scenario.raw(readyz_path(self.ns), "{}")
        self.scenario.exec_output(pmm.POD, self.ns, ["cat", "/proc/1/status"], status_text or proc_status())
        self.scenario.exec_output(pmm.POD, self.ns, ["cat", "/proc/1/uid_map"], uid_map)

    def pmm2_rejected(self) -> None:
        warning = contract_text("kubectl/apply.psa-warning.stderr.txt", {'"web"': f'"{pmm.CONTAINER}"'})
        self.scenario.warn_once("StatefulSet", pmm.NAME, self.ns, warning)
        self.event("StatefulSet", pmm.NAME, "FailedCreate", FAILED_CREATE_MESSAGE, count=15, on_apply=True)

    def pmm2_crashlooping(self) -> None:
        status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                  "containerStatuses": [{
                      "name": pmm.CONTAINER, "ready": False, "restartCount": 2,
                      "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                      "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}
        self.scenario.seed(self.pod(pmm.statefulset_pmm2(True), status))
        self.scenario.logs(pmm.POD, self.ns, PMM2_LOG)

    def pmm2_chown_first(self) -> None:
        """The first start died in the entrypoint's chown (exit 1); the restart is running and has printed
        nothing yet: only `logs --previous` shows the failure."""
        status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                  "containerStatuses": [{
                      "name": pmm.CONTAINER, "ready": False, "restartCount": 1,
                      "state": {"running": {"startedAt": "2025-02-19T10:00:20Z"}},
                      "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}
        self.scenario.seed(self.pod(pmm.statefulset_pmm2(True), status))
        self.scenario.logs(pmm.POD, self.ns, "")
        self.scenario.logs(pmm.POD, self.ns, PMM2_CHOWN_LOG, previous=True)

    def pmm3_waiting(self, reason: str, message: str) -> None:
        """The container never starts: the kubelet's waiting reason and message."""
        status = {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}],
                  "containerStatuses": [{"name": pmm.CONTAINER, "ready": False, "restartCount": 0,
                                         "state": {"waiting": {"reason": reason, "message": message}}}]}
        self.scenario.seed(self.pod(pmm.statefulset_pmm3(), status))

    def node_memory(self, quantity: str) -> None:
        """The kind node's memory capacity (the kubelet reports the host's MemTotal)."""
        node = self.scenario.objects.get("Node", self.node, None)
        node["status"]["capacity"]["memory"] = quantity
        node["status"]["allocatable"]["memory"] = quantity
        self.scenario.seed(node)

    def stored(self, kind: str, name: str) -> Optional[dict]:
        return self.scenario.objects.get(kind, name, self.ns)

    def calls(self):
        return self.scenario.kubectl_calls()

    def json_calls(self) -> str:
        return (self.state / "calls.jsonl").read_text()
