"""The evidence that PMM runs rootless: named checks, each with the value seen (pmm.md §5).

In the cluster: the namespace enforces restricted; the pod is Running and
Ready; /v1/server/readyz answers 200 through the API server's service proxy;
PID 1 of the container is uid 1000 with no capabilities, no_new_privs and a
seccomp filter; its uid_map is not the identity map. On the host: the node
container that runs the pod passes the rootless proof of rootlesskube.verify
(every process owned by the invoking user or its subordinate ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from .. import ui
from ..errors import RootlesskubeError
from ..proc import is_identity, parse_id_map
from . import pmm
from .pmm_deploy import describe_state, get_or_none, get_pod, pod_summary
from .target import Target


@dataclass
class Check:
    name: str
    ok: bool
    value: str
    expected: str
    detail: Optional[dict] = None

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "value": self.value, "expected": self.expected,
                "detail": self.detail}


@dataclass
class Evidence:
    namespace: str
    pod: str
    checks: List[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failed(self) -> List[Check]:
        return [c for c in self.checks if not c.ok]

    def as_dict(self) -> dict:
        return {"namespace": self.namespace, "pod": self.pod, "ok": self.ok,
                "failed": [c.name for c in self.failed], "checks": [c.as_dict() for c in self.checks]}


def readyz_path(namespace: str) -> str:
    """The API server's service proxy to PMM's unauthenticated readiness endpoint over https."""
    return (f"/api/v1/namespaces/{namespace}/services/https:{pmm.NAME}:{pmm.SERVICE_HTTPS_PORT}"
            f"/proxy{pmm.READYZ}")


def parse_status(text: str) -> Dict[str, str]:
    """/proc/PID/status as {field: value} (`Uid:\\t1000\\t1000\\t1000\\t1000` -> "1000\\t1000...")."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def check_namespace(target: Target, namespace: str) -> Check:
    from ..pss.labels import PssLabels

    found = get_or_none(target.kubectl, ["namespace", namespace]) or {}
    labels = PssLabels.from_labels((found.get("metadata") or {}).get("labels"))
    seen = str(labels.enforce) if labels.enforce else "unlabeled"
    return Check("namespace-enforces-restricted", bool(labels.enforce) and labels.enforce.level == "restricted",
                 f"enforce {seen}", "enforce restricted")


def check_pod(pod: dict) -> Check:
    summary = pod_summary(pod)
    return Check("pod-running-ready", summary["phase"] == "Running" and summary["ready"],
                 describe_state(summary), "Running, Ready", detail=summary)


def no_pod(namespace: str) -> Check:
    """The pod check when there is no pod: it fails, and the checks inside the pod cannot run."""
    deploy = "rootlesskube pmm deploy" + ("" if namespace == pmm.DEFAULT_NAMESPACE else f" --namespace {namespace}")
    return Check("pod-running-ready", False, f"no pod {pmm.POD} in namespace {namespace}; run {deploy}",
                 "Running, Ready")


def check_readyz(target: Target, namespace: str) -> Check:
    path = readyz_path(namespace)
    result = target.kubectl.get_raw(path, check=False)
    body = result.stdout.strip()
    # kubectl get --raw exits 0 only for a 2xx answer; PMM's body is `{}` when ready
    if result.ok:
        value = f"200 {body}"
    else:
        value = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
    return Check("readyz-200", result.ok and body == "{}", value, "200 {}", detail={"path": path})


def _exec_cat(target: Target, namespace: str, path: str):
    return target.kubectl.exec(pmm.POD, ["cat", path], namespace=namespace, container=pmm.CONTAINER, check=False)


def check_process(target: Target, namespace: str) -> List[Check]:
    """uid, capabilities, no_new_privs and seccomp of the container's PID 1, from /proc/1/status."""
    result = _exec_cat(target, namespace, "/proc/1/status")
    if not result.ok:
        seen = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        return [Check(name, False, f"kubectl exec failed: {seen}", expected)
                for name, expected in (("pid1-uid-1000", "Uid 1000 1000 1000 1000"),
                                       ("pid1-no-capabilities", "CapEff 0000000000000000"),
                                       ("pid1-no-new-privs", "NoNewPrivs 1"),
                                       ("pid1-seccomp-filter", "Seccomp 2"))]
    status = parse_status(result.stdout)
    uids = status.get("Uid", "").split()
    cap_eff, cap_bnd = status.get("CapEff", "?"), status.get("CapBnd", "?")
    return [
        Check("pid1-uid-1000", len(uids) == 4 and set(uids) == {"1000"}, f"Uid {' '.join(uids) or '?'}",
              "Uid 1000 1000 1000 1000"),
        Check("pid1-no-capabilities", _hex_zero(cap_eff), f"CapEff {cap_eff} (CapBnd {cap_bnd})",
              "CapEff 0000000000000000"),
        Check("pid1-no-new-privs", status.get("NoNewPrivs") == "1", f"NoNewPrivs {status.get('NoNewPrivs', '?')}",
              "NoNewPrivs 1"),
        Check("pid1-seccomp-filter", status.get("Seccomp") == "2", f"Seccomp {status.get('Seccomp', '?')}",
              "Seccomp 2"),
    ]


def _hex_zero(text: str) -> bool:
    try:
        return int(text, 16) == 0
    except ValueError:
        return False


def check_uid_map(target: Target, namespace: str) -> Check:
    result = _exec_cat(target, namespace, "/proc/1/uid_map")
    expected = "not the identity map 0 0 4294967295"
    if not result.ok:
        seen = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        return Check("uid-map-not-identity", False, f"kubectl exec failed: {seen}", expected)
    try:
        entries = parse_id_map(result.stdout)
    except ValueError as exc:
        return Check("uid-map-not-identity", False, f"unreadable: {exc}", expected)
    shown = "; ".join(e.as_text() for e in entries) or "(empty)"
    return Check("uid-map-not-identity", bool(entries) and not is_identity(entries), shown, expected)


def node_container(target: Target, node: Optional[str]) -> str:
    """The Podman container that is the pod's node: the one named like the node (kind, minikube), or the
    cluster's only node container (Usernetes names its container apart from the node)."""
    if target.driver is None or target.cluster is None:
        raise RootlesskubeError("a kubeconfig alone does not say which Podman container is the node",
                                hint="verify a cluster rootlesskube created: --cluster NAME")
    containers = target.driver.node_containers(target.cluster)
    if node in containers:
        return node
    if len(containers) == 1:
        return containers[0]
    raise RootlesskubeError(f"none of the node containers of cluster {target.cluster!r} ({', '.join(containers) or 'none'}) "
                            f"is the pod's node {node!r}", hint="is the pod scheduled? `kubectl get pod -o wide`")


def check_host(target: Target, node: Optional[str]) -> Check:
    from ..podman import Podman
    from ..verify import UserIds, verify_container

    expected = "every process of the node container owned by you or your subordinate ids, none by host root"
    try:
        container = node_container(target, node)
        proof = verify_container(Podman(), container, UserIds.lookup())
    except RootlesskubeError as exc:
        return Check("host-processes-rootless", False, f"could not tell: {exc}", expected)
    return Check("host-processes-rootless", proof.rootless, proof.verdict_line(), expected,
                 detail={"container": container, "proof": proof.as_dict()})


def gather(target: Target, namespace: str) -> Evidence:
    pod = get_pod(target.kubectl, namespace)
    evidence = Evidence(namespace, pmm.POD)
    if pod is None:
        evidence.checks = [check_namespace(target, namespace), no_pod(namespace)]
        return evidence
    steps: List[Callable[[], List[Check]]] = [
        lambda: [check_namespace(target, namespace)],
        lambda: [check_pod(pod)],
        lambda: [check_readyz(target, namespace)],
        lambda: check_process(target, namespace),
        lambda: [check_uid_map(target, namespace)],
        lambda: [check_host(target, (pod.get("spec") or {}).get("nodeName"))],
    ]
    for step in steps:
        evidence.checks += step()
    return evidence


def gather_with_progress(target: Target, namespace: str, quiet: bool = False) -> Evidence:
    with ui.step(f"gather the evidence for PMM in namespace {namespace}", quiet=quiet):
        return gather(target, namespace)
