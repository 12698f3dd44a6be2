"""Deploy PMM 3 into a restricted namespace, or run PMM 2 as the negative control.

Steps (each a `ui.step` on stderr): the namespace (created with restricted
enforce/warn/audit labels through pss.namespaces when missing), the storage
decision, the image (pulled with rootless Podman into the user's store when
missing, then rootlesskube.images: saved to an archive and loaded with the
driver unless every node already holds its id, in a thread while the Secret
and Service are applied), the StatefulSet, and the wait for the pod.
"""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from .. import image_progress, ui
from ..errors import RootlesskubeError, UsageError, VerificationFailed
from ..kube import Kubectl, warnings
from ..names import dns1123_label
from ..run import CommandError
from . import pmm
from .target import Target

POLL_SECONDS = 2.0
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
RESTRICTED = "restricted"
TAIL_LOG_LINES = 40


class PmmNotReady(VerificationFailed):
    """The pod did not become Running and Ready in time (exit 4); the message carries events and logs."""


@dataclass
class DeployOptions:
    namespace: Optional[str] = None  # None: pmm, or pmm2-control for the PMM 2 control
    version: int = 3
    image: Optional[str] = None
    image_archive: Optional[str] = None
    storage: Optional[str] = None  # None: pvc when the cluster has a default StorageClass, else emptydir
    wait_seconds: float = 600.0
    expect_failure: bool = False

    @property
    def namespace_name(self) -> str:
        return dns1123_label(self.namespace or pmm.default_namespace(self.version), "namespace")

    @property
    def image_ref(self) -> str:
        return self.image or (pmm.PMM3_IMAGE if self.version == 3 else pmm.PMM2_IMAGE)


@dataclass
class DeployReport:
    namespace: str
    version: int
    image: str
    storage: str = ""
    notes: List[str] = field(default_factory=list)
    applied: List[str] = field(default_factory=list)  # kubectl's `<kind>/<name> <op>` lines
    pod: dict = field(default_factory=dict)
    control: List[dict] = field(default_factory=list)  # PMM 2: one entry per manifest
    outcome: str = ""

    def as_dict(self) -> dict:
        return {"namespace": self.namespace, "version": self.version, "image": self.image,
                "storage": self.storage, "notes": self.notes, "applied": self.applied, "pod": self.pod,
                "control": self.control, "outcome": self.outcome}


# --- the parts both versions share ---
def ensure_namespace(kubectl: Kubectl, namespace: str, report: DeployReport) -> None:
    from ..pss.labels import ModePolicy, PssLabels
    from ..pss.namespaces import apply_namespace

    existing = get_or_none(kubectl, ["namespace", namespace])
    if existing is None:
        restricted = ModePolicy.validated(RESTRICTED)
        apply_namespace(kubectl, namespace, PssLabels(enforce=restricted, warn=restricted, audit=restricted))
        report.notes.append(f"created namespace {namespace} with restricted enforce, warn and audit labels")
        return
    labels = PssLabels.from_labels((existing.get("metadata") or {}).get("labels"))
    if labels.enforce is None or labels.enforce.level != RESTRICTED:
        note = (f"namespace {namespace} exists and does not enforce restricted "
                f"(enforce: {labels.enforce or 'unlabeled'}); it is left as it is")
        ui.warn(note)
        report.notes.append(note)


def get_or_none(kubectl: Kubectl, args: List[str], namespace: Optional[str] = None) -> Optional[dict]:
    try:
        return kubectl.get_json(args, namespace=namespace)
    except CommandError as exc:
        if "(NotFound)" in exc.stderr:
            return None
        raise


def has_default_storage_class(kubectl: Kubectl) -> bool:
    classes = kubectl.get_json(["storageclass"]).get("items") or []
    return any((c.get("metadata", {}).get("annotations") or {}).get(a) == "true"
               for c in classes for a in DEFAULT_CLASS_ANNOTATIONS)


def choose_storage(kubectl: Kubectl, wanted: Optional[str], report: DeployReport) -> str:
    default_class = has_default_storage_class(kubectl)
    if wanted == pmm.STORAGE_PVC and not default_class:
        raise UsageError("the cluster has no default StorageClass, so PMM's volume claim would stay Pending",
                         hint="use --storage emptydir (the data lives as long as the pod), or install a "
                              "provisioner and mark its class default")
    if wanted:
        return wanted
    if default_class:
        return pmm.STORAGE_PVC
    note = "the cluster has no default StorageClass (Usernetes has none): /srv is an emptyDir, lost with the pod"
    ui.say(note)
    report.notes.append(note)
    return pmm.STORAGE_EMPTYDIR


def prepare_image(target: Target, options: DeployOptions) -> str:
    """Get the image into the cluster's nodes; returns what was done (for the report)."""
    if target.driver is None or target.cluster is None:
        return f"image {options.image_ref} not loaded: a kubeconfig alone names no nodes; the cluster pulls it"
    if options.image_archive:
        archive = Path(options.image_archive)
        if not archive.is_file():
            raise UsageError(f"the image archive {archive} does not exist",
                             hint="write one with `podman save --format docker-archive -o FILE IMAGE`")
        from .. import images

        if images.load_archive(target.driver, target.cluster, archive).skipped:
            return f"every node of cluster {target.cluster} already holds the image of {archive} (same id): not loaded"
        return f"loaded {archive} into cluster {target.cluster}"
    from .. import images
    from ..podman import Podman

    podman = Podman()
    done = f"{options.image_ref} was already in your Podman store"
    if not podman.image_exists(options.image_ref):
        podman.pull(options.image_ref)
        done = f"pulled {options.image_ref} with rootless Podman (kept in your store)"
    # the same path as `rootlesskube image load`: no load when every node already holds this image id
    report = images.load(target.driver, target.cluster, [options.image_ref], podman)
    if report.skipped:
        return f"{done}; every node of cluster {target.cluster} already holds it (same image id): not loaded"
    return f"{done}; loaded into cluster {target.cluster}"


def _prepare_image_shown_in(thread: int, target: Target, options: DeployOptions) -> str:
    """prepare_image in the worker, its layer and MiB bars shown in the main thread's step."""
    with image_progress.shown_in(thread):
        return prepare_image(target, options)


def apply(kubectl: Kubectl, objects: List[dict], namespace: str, report: DeployReport) -> List[str]:
    """Apply through stdin; returns the server's warnings (without `Warning: `)."""
    result = kubectl.apply(json.dumps(pmm.as_list(objects, namespace)), namespace=namespace)
    report.applied += [line for line in result.stdout.splitlines() if line.strip()]
    return warnings(result.stderr)


def pod_summary(pod: dict) -> dict:
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    container = statuses[0] if statuses else {}
    state = container.get("state") or {}
    waiting = (state.get("waiting") or {}).get("reason")
    waiting_message = (state.get("waiting") or {}).get("message")
    terminated = state.get("terminated") or (container.get("lastState") or {}).get("terminated") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return {"name": pod["metadata"]["name"], "node": (pod.get("spec") or {}).get("nodeName"),
            "phase": status.get("phase", "Unknown"), "ready": ready, "waiting": waiting,
            "waiting_message": waiting_message,
            "running": "running" in state, "restarts": container.get("restartCount", 0),
            "last_exit_code": terminated.get("exitCode"), "last_reason": terminated.get("reason")}


def describe_state(summary: dict) -> str:
    text = summary["phase"] + (", Ready" if summary["ready"] else ", not Ready")
    if summary["waiting"]:
        text += f", waiting: {summary['waiting']}"
    if summary["last_exit_code"] is not None:
        text += f", last exit {summary['last_exit_code']} ({summary['last_reason']})"
    return text + f", restarts {summary['restarts']}"


def get_pod(kubectl: Kubectl, namespace: str) -> Optional[dict]:
    return get_or_none(kubectl, ["pod", pmm.POD], namespace=namespace)


def poll(check: Callable[[], Optional[object]], seconds: float) -> Optional[object]:
    """check() until it returns something, at most `seconds` (always at least once)."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def events_of(kubectl: Kubectl, namespace: str, kind: str, name: str) -> List[dict]:
    items = kubectl.get_json(["events"], namespace=namespace).get("items") or []
    found = [e for e in items
             if (e.get("involvedObject") or {}).get("kind") == kind and (e.get("involvedObject") or {}).get("name") == name]
    return sorted(found, key=lambda e: e.get("lastTimestamp") or "")


def event_line(event: dict) -> str:
    count = event.get("count")
    return (f"{event.get('type', '')} {event.get('reason', '')}"
            + (f" (x{count})" if count and count > 1 else "") + f": {event.get('message', '')}")


def pod_logs(kubectl: Kubectl, namespace: str, previous: bool = False) -> str:
    """The container's last lines (--previous: of the container before it), or kubectl's error."""
    argv = ["logs", pmm.POD, "--namespace", namespace, "-c", pmm.CONTAINER]
    result = kubectl.run(argv + (["--previous"] if previous else []) + [f"--tail={TAIL_LOG_LINES}"], check=False)
    return result.stdout if result.ok else result.stderr


# Waiting reasons that no amount of waiting ends: the kubelet cannot make the container, or get its image.
CONFIG_ERRORS = ("CreateContainerConfigError", "CreateContainerError")
IMAGE_ERRORS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")


def will_not_start(summary: dict) -> bool:
    return summary["waiting"] in CONFIG_ERRORS + IMAGE_ERRORS


def stuck_report(kubectl: Kubectl, namespace: str, summary: dict, image: str) -> PmmNotReady:
    """The pod waits for something that will not come: stop now with the reason, the message and the fix."""
    reason, message = summary["waiting"], summary["waiting_message"] or "(no message)"
    events = [event_line(e) for e in events_of(kubectl, namespace, "Pod", pmm.POD)]
    lines = [f"pod {namespace}/{pmm.POD} will not start: {reason}: {message}",
             "events:", *(f"  {e}" for e in events or ["(none)"])]
    if reason in IMAGE_ERRORS:
        hint = (f"the node cannot get {image}: check its name and tag, or load it from an archive with "
                f"--image-archive FILE (`podman save --format docker-archive -o FILE {image}`)")
    elif f"in Secret {namespace}/{pmm.SECRET}" in message:
        hint = (f"the Secret {pmm.SECRET} lacks what the pod reads: `kubectl -n {namespace} delete secret "
                f"{pmm.SECRET}` and deploy again (a new admin password is generated)")
    else:
        hint = f"fix what the message names (`kubectl -n {namespace} describe pod {pmm.POD}`), then deploy again"
    return PmmNotReady("\n".join(lines), hint=hint)


def not_ready_report(kubectl: Kubectl, namespace: str, waited: float, pod: Optional[dict]) -> PmmNotReady:
    state = describe_state(pod_summary(pod)) if pod else "no pod was created"
    events = [event_line(e) for e in events_of(kubectl, namespace, "Pod", pmm.POD)]
    if not pod:
        events += [event_line(e) for e in events_of(kubectl, namespace, "StatefulSet", pmm.NAME)]
    logs = pod_logs(kubectl, namespace).rstrip() if pod else ""
    lines = [f"pod {namespace}/{pmm.POD} was not Running and Ready after {waited:g}s: {state}",
             "events:", *(f"  {e}" for e in events or ["(none)"]),
             f"logs (last {TAIL_LOG_LINES} lines):", *(f"  {line}" for line in logs.splitlines() or ["(none)"])]
    return PmmNotReady("\n".join(lines),
                       hint=f"give it longer with --wait (the first start takes minutes); "
                            f"`kubectl -n {namespace} describe pod {pmm.POD}` shows more")


# --- PMM 3 ---
def deploy(target: Target, options: DeployOptions) -> DeployReport:
    if options.version == 2:
        return run_control(target, options)
    ns = options.namespace_name
    kubectl = target.kubectl
    report = DeployReport(ns, 3, options.image_ref)
    _prepare_cluster(target, options, report)
    check_memory(kubectl, report)
    existing = get_or_none(kubectl, ["secret", pmm.SECRET], namespace=ns)
    password = pmm.new_password() if existing is None else None
    if existing is not None:
        if pmm.PASSWORD_KEY not in (existing.get("data") or {}):
            raise RootlesskubeError(
                f"Secret {pmm.SECRET} in namespace {ns} has no key {pmm.PASSWORD_KEY}, which PMM's admin password "
                "comes from: the pod would wait in CreateContainerConfigError",
                hint=f"`kubectl -n {ns} delete secret {pmm.SECRET}` and deploy again (a new password is generated)")
        report.notes.append(f"Secret {pmm.SECRET} exists: its password is kept")
    with ThreadPoolExecutor(max_workers=1) as pool:
        image = pool.submit(_prepare_image_shown_in, threading.get_ident(), target, options)
        with ui.step("apply the admin password Secret and the Service"):
            objects = pmm.pmm3_objects(options.image_ref, report.storage, password)
            apply(kubectl, objects[:-1], ns, report)
        with ui.step(f"load the image {options.image_ref} into the cluster"):
            report.notes.append(image.result())
    with ui.step("apply the PMM 3 StatefulSet"):
        for warning in apply(kubectl, objects[-1:], ns, report):
            ui.warn(warning)
    with ui.step(f"wait up to {options.wait_seconds:g}s for {pmm.POD} to be Running and Ready"):
        pod = poll(lambda: _ready_pod(kubectl, ns, options.image_ref), options.wait_seconds)
        if pod is None:
            raise not_ready_report(kubectl, ns, options.wait_seconds, get_pod(kubectl, ns))
    report.pod = pod_summary(pod)
    report.outcome = "ready"
    return report


def _prepare_cluster(target: Target, options: DeployOptions, report: DeployReport) -> None:
    with ui.step(f"namespace {report.namespace} on {target.describe()}"):
        ensure_namespace(target.kubectl, report.namespace, report)
    with ui.step("choose the storage for /srv"):
        report.storage = choose_storage(target.kubectl, options.storage, report)


def _ready_pod(kubectl: Kubectl, namespace: str, image: str) -> Optional[dict]:
    """The pod once Running and Ready; raises at once when it waits for what will never come."""
    pod = get_pod(kubectl, namespace)
    if pod is not None:
        summary = pod_summary(pod)
        if summary["phase"] == "Running" and summary["ready"]:
            return pod
        if will_not_start(summary):
            raise stuck_report(kubectl, namespace, summary, image)
    return None


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_FACTORS = {None: 1, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4,
            "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12}


def memory_bytes(quantity: str) -> Optional[int]:
    """A Kubernetes memory quantity (`32613592Ki`, `4Gi`, `4G`) in bytes; None when unreadable."""
    match = _QUANTITY.match(str(quantity).strip())
    return int(float(match.group(1)) * _FACTORS[match.group(2)]) if match else None


def check_memory(kubectl: Kubectl, report: DeployReport) -> None:
    """Warn when no node has the memory Percona asks for PMM 3 (the kubelet's capacity: the host's, or the
    minikube/VM machine's), with the choice."""
    try:
        nodes = kubectl.get_json(["nodes"]).get("items") or []
    except CommandError:  # a kubeconfig that may not list nodes: nothing to compare
        return
    sizes = {n["metadata"]["name"]: memory_bytes(((n.get("status") or {}).get("capacity") or {}).get("memory", ""))
             for n in nodes}
    known = {name: size for name, size in sizes.items() if size is not None}
    if not known or max(known.values()) >= pmm.MIN_MEMORY_BYTES:
        return
    name, size = max(known.items(), key=lambda item: item[1])
    note = (f"node {name} has {size / 10 ** 9:.1f} GB of memory, below the 4 GB Percona asks for PMM 3 "
            f"(PMM requests {pmm.REQUESTS['memory']} and needs more under load): {pmm.MEMORY_CHOICE}")
    ui.warn(note)
    report.notes.append(note)


# --- PMM 2, the negative control ---
def run_control(target: Target, options: DeployOptions) -> DeployReport:
    """The blog's two PMM 2 manifests in turn: the plain one must be rejected at admission, the one
    with the security contexts admitted and then crash ("Can't drop privilege as nonroot user")."""
    from ..pss.evaluator import evaluate

    ns = options.namespace_name
    kubectl = target.kubectl
    report = DeployReport(ns, 2, options.image_ref)
    _clear_for_control(kubectl, ns, options.image_ref, report)
    _prepare_cluster(target, options, report)
    with ui.step(f"load the image {options.image_ref} into the cluster"):
        report.notes.append(prepare_image(target, options))

    plain = pmm.pmm2_objects(False, options.image_ref, report.storage)
    predicted = evaluate(plain[0], RESTRICTED, "latest")
    with ui.step("PMM 2 as the blog has it (01.pmm2.yaml): expect a rejection at admission"):
        stage = {"manifest": "01.pmm2.yaml", "expected": "rejected at admission",
                 "warnings": apply(kubectl, plain, ns, report),
                 "predicted": predicted.message()}
        stage.update(_admission_outcome(kubectl, ns, options.wait_seconds))
        stage["as_expected"] = (not stage["admitted"] and stage["rejection"] is not None
                                and predicted.message() in stage["rejection"])
        report.control.append(stage)
    with ui.step("remove it before the next manifest"):
        kubectl.run(["delete", "statefulset", pmm.NAME, "--namespace", ns, "--ignore-not-found"])

    secure = pmm.pmm2_objects(True, options.image_ref, report.storage)
    with ui.step("PMM 2 with the security contexts (03.pmm2-secure.yaml): expect admission, then a crash"):
        stage = {"manifest": "03.pmm2-secure.yaml",
                 "expected": f"admitted, then a crash as non-root: supervisord's {pmm.PMM2_CRASH_LINE!r} or the "
                             "entrypoint's chown 'Operation not permitted'",
                 "warnings": apply(kubectl, secure, ns, report)}
        stage.update(_crash_outcome(kubectl, ns, options.wait_seconds))
        stage["as_expected"] = stage["admitted"] and stage["crashed"] and stage["crash_line"] is not None
        report.control.append(stage)

    held = all(s["as_expected"] for s in report.control)
    report.outcome = "negative control held" if held else "negative control did not hold"
    if not options.expect_failure:
        raise _control_failure("PMM 2 does not run in a restricted namespace", report)
    if not held:
        raise _control_failure("the PMM 2 negative control did not fail the way the blog shows", report)
    return report


def _clear_for_control(kubectl: Kubectl, ns: str, image: str, report: DeployReport) -> None:
    """The control replaces and then deletes StatefulSet pmm-server: refuse when the namespace holds one it
    did not write (PMM 3), remove one an earlier run of the control left."""
    existing = get_or_none(kubectl, ["statefulset", pmm.NAME], namespace=ns)
    if existing is None:
        return
    template = ((existing.get("spec") or {}).get("template") or {}).get("spec") or {}
    images = [c.get("image") for c in template.get("containers") or []]
    if images != [image]:
        raise RootlesskubeError(
            f"namespace {ns} holds a StatefulSet {pmm.NAME} running {', '.join(map(str, images)) or 'no image'}, "
            f"not the control's {image}: the PMM 2 control would replace it and then delete it",
            hint=f"run the control in its own namespace (the default, {pmm.CONTROL_NAMESPACE}) or another "
                 f"--namespace; `rootlesskube pmm remove --namespace {ns}` removes what is there")
    kubectl.run(["delete", "statefulset", pmm.NAME, "--namespace", ns, "--ignore-not-found"])
    report.notes.append(f"removed StatefulSet {pmm.NAME} left in {ns} by an earlier run of the control")


def _control_failure(headline: str, report: DeployReport) -> VerificationFailed:
    lines = [f"{headline}:"] + [f"  {s['manifest']}: {s['seen']} (expected: {s['expected']})" for s in report.control]
    error = VerificationFailed("\n".join(lines),
                               hint="this is the negative control; run it with --expect-failure, "
                                    "and deploy PMM 3 (--version 3) to run PMM")
    error.report = report
    return error


FORBIDDEN = re.compile(r'is forbidden: (violates PodSecurity "[^"]+": .*)$')


def _admission_outcome(kubectl: Kubectl, ns: str, wait: float) -> dict:
    """Rejected: the StatefulSet controller's FailedCreate event names the PodSecurity violation. Only an
    event about the StatefulSet just applied counts (its uid), not one left from an earlier run."""
    applied = get_or_none(kubectl, ["statefulset", pmm.NAME], namespace=ns) or {}
    uid = (applied.get("metadata") or {}).get("uid")

    def seen():
        for event in reversed(events_of(kubectl, ns, "StatefulSet", pmm.NAME)):
            if not uid or (event.get("involvedObject") or {}).get("uid") != uid:
                continue
            match = FORBIDDEN.search(event.get("message", ""))
            if event.get("reason") == "FailedCreate" and match:
                return {"admitted": False, "rejection": match.group(1), "event": event_line(event),
                        "seen": f"rejected: {match.group(1)}"}
        pod = get_pod(kubectl, ns)
        if pod is not None:
            return {"admitted": True, "rejection": None, "event": None,
                    "seen": f"admitted: pod {describe_state(pod_summary(pod))}"}
        return None

    return poll(seen, wait) or {"admitted": False, "rejection": None, "event": None,
                                "seen": f"no pod and no FailedCreate event after {wait:g}s"}


def nonroot_failure(log: str) -> Optional[Tuple[str, str]]:
    """(what failed, the line) for a line that shows PMM 2 failing as non-root: supervisord's, or the
    entrypoint's chown (the first start on a fresh /srv); None when the log has neither."""
    lines = [line.strip() for line in log.splitlines()]
    found = next((line for line in lines if pmm.PMM2_CRASH_LINE in line), None)
    if found:
        return "supervisord", found
    found = next((line for line in lines if pmm.PMM2_CHOWN_LINE.search(line)), None)
    return ("entrypoint chown", found) if found else None


def _crash_outcome(kubectl: Kubectl, ns: str, wait: float) -> dict:
    """Admitted, then a crash as non-root: the current and the previous container's logs are read until
    one shows a non-root failure line (a restart can replace the container that printed it) or the wait ends."""
    last: dict = {}

    def seen():
        pod = get_pod(kubectl, ns)
        if pod is None:
            return None
        summary = pod_summary(pod)
        if will_not_start(summary):
            return {"admitted": True, "crashed": False, "crash_line": None, "crash_evidence": None, "pod": summary,
                    "seen": f"will not start: {summary['waiting']}: {summary['waiting_message'] or '(no message)'}"}
        if summary["phase"] == "Running" and summary["ready"]:
            return {"admitted": True, "crashed": False, "crash_line": None, "crash_evidence": None, "pod": summary,
                    "seen": describe_state(summary)}
        crashed = (summary["waiting"] == "CrashLoopBackOff" or summary["last_reason"] == "Error"
                   or summary["restarts"] > 0)
        if not crashed:
            return None
        for log_name, previous in (("current", False), ("previous", True)):
            found = nonroot_failure(pod_logs(kubectl, ns, previous))
            if found:
                what, line = found
                return {"admitted": True, "crashed": True, "crash_line": line, "crash_evidence": what,
                        "crash_log": log_name, "pod": summary,
                        "seen": f"{describe_state(summary)}; {log_name} log ({what}): {line}"}
        last.update({"admitted": True, "crashed": True, "crash_line": None, "crash_evidence": None, "pod": summary,
                     "seen": f"{describe_state(summary)}; no non-root failure line in the current or previous log "
                             f"after {wait:g}s"})
        return None

    return poll(seen, wait) or last or {"admitted": get_pod(kubectl, ns) is not None, "crashed": False,
                                        "crash_line": None, "crash_evidence": None,
                                        "seen": f"neither Ready nor crashed after {wait:g}s"}


def remove(target: Target, namespace: str) -> List[str]:
    """Delete what deploy created in the namespace (the namespace itself stays). Returns what was removed."""
    ns = dns1123_label(namespace, "namespace")
    removed = []
    for kind, name in (("statefulset", pmm.NAME), ("service", pmm.NAME), ("secret", pmm.SECRET),
                       ("persistentvolumeclaim", f"{pmm.DATA_VOLUME}-{pmm.POD}")):
        if get_or_none(target.kubectl, [kind, name], namespace=ns) is not None:
            target.kubectl.run(["delete", kind, name, "--namespace", ns, "--ignore-not-found"])
            removed.append(f"{kind}/{name}")
    return removed


def read_password(kubectl: Kubectl, namespace: str) -> str:
    import base64

    ns = dns1123_label(namespace, "namespace")
    found = get_or_none(kubectl, ["secret", pmm.SECRET], namespace=ns)
    value = ((found or {}).get("data") or {}).get(pmm.PASSWORD_KEY)
    if not value:
        raise RootlesskubeError(f"there is no PMM admin password in namespace {ns} (Secret {pmm.SECRET})",
                                hint=f"deploy PMM first: rootlesskube pmm deploy --namespace {ns}")
    return base64.b64decode(value).decode()
