"""The offline Pod Security evaluator: the admission controller's verdict and words.

`evaluate(obj, level, version)` takes a Pod or any workload with a pod
template; `evaluate_pod_spec(metadata, spec, ...)` takes the parts directly.
Before the checks run, a Pod gets the changes the API server makes before
admission (hostNetwork host ports, the AppArmor annotation copied into the
container field); a sourceless volume counting as emptyDir is handled in the
volume check. The evaluator does not run API validation: a spec the API
server would reject as invalid gets a verdict here, not a validation error.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

from ..errors import UsageError
from . import checks
from .levels import LATEST, PRIVILEGED, parse_version, validate_level
from .manifests import has_pod_spec, pod_spec_of


@dataclass(frozen=True)
class Violation:
    reason: str
    detail: str

    def __str__(self) -> str:
        # AggregateCheckResult.ForbiddenDetail: "reason (detail)"
        return f"{self.reason} ({self.detail})" if self.detail else self.reason

    def as_dict(self) -> dict:
        return {"reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class Evaluation:
    """The verdict at one level and version; `version` is the label text as written."""

    level: str
    version: str
    violations: List[Violation] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.violations

    @property
    def policy(self) -> str:
        return f"{self.level}:{self.version}"

    def detail(self) -> str:
        return ", ".join(str(v) for v in self.violations)

    def message(self) -> str:
        """Upstream's enforce text, e.g. `violates PodSecurity "restricted:latest": ...`; "" when allowed."""
        if self.allowed:
            return ""
        return f'violates PodSecurity "{self.policy}": {self.detail()}'


class InvalidPodSpec(UsageError):
    """A pod spec whose fields have the wrong shape (e.g. a string where a list belongs)."""


CheckList = List[Tuple[str, Callable]]


@functools.lru_cache(maxsize=None)
def _policy(level: str, version: str) -> Tuple[str, CheckList]:
    validate_level(level)
    parsed = parse_version(version)
    return parsed.text, ([] if level == PRIVILEGED else checks.checks_for(level, parsed.minor))


def evaluate_pod_spec(metadata: Optional[dict], spec: Optional[dict], level: str, version: str = LATEST,
                      *, pod: bool = False) -> Evaluation:
    """Evaluate a pod spec at level and version (UsageError for a bad level or version).

    `pod` says the spec is a Pod's own (not a template), so the API server's
    Pod-only defaulting applies first.
    """
    version_text, active = _policy(level, version)
    if not active:
        return Evaluation(level, version_text)
    metadata = metadata or {}
    spec = spec or {}
    try:
        if pod:
            metadata, spec = normalize_pod(metadata, spec)
        view = checks.PodView(metadata, spec)
        violations = []
        for _, check in active:
            found = check(view)
            if found is not None:
                violations.append(Violation(*found))
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise InvalidPodSpec(
            f"the pod spec has a field of the wrong type or value ({type(exc).__name__}: {exc})",
            hint="check the manifest against the Pod API, e.g. `kubectl apply --dry-run=server -f FILE`",
        ) from None
    return Evaluation(level, version_text, violations)


def evaluate(obj: dict, level: str, version: str = LATEST) -> Evaluation:
    """Evaluate a Pod or a workload with a pod template (UsageError for any other kind)."""
    if not isinstance(obj, dict) or not has_pod_spec(obj):
        kind = obj.get("kind") if isinstance(obj, dict) else type(obj).__name__
        raise UsageError(
            f"a {kind or 'object without a kind'} has no pod spec to evaluate",
            hint="give a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, "
                 "Job, CronJob or PodTemplate",
        )
    found = pod_spec_of(obj)
    if found is None:
        # a ReplicationController without a template is admitted without evaluation
        return Evaluation(validate_level(level), parse_version(version).text)
    metadata, spec = found
    return evaluate_pod_spec(metadata, spec, level, version, pod=obj.get("kind") == "Pod")


# --- what the API server changes in a Pod before admission -------------------

_APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def normalize_pod(metadata: dict, spec: dict) -> Tuple[dict, dict]:
    """Copies of metadata and spec as PodSecurity admission sees a created Pod.

    Only what changes a verdict or a message: SetDefaults_Pod's hostPort for
    hostNetwork pods and applyAppArmorVersionSkew (pss-checks.md section 6).
    The input is not modified.
    """
    if spec.get("hostNetwork") is True:
        spec = _default_host_ports(spec)
    annotations = metadata.get("annotations") or {}
    if any(key.startswith(_APPARMOR_PREFIX) for key in annotations):
        spec = _apparmor_annotations_to_fields(annotations, spec)
    return metadata, spec


def _default_host_ports(spec: dict) -> dict:
    spec = dict(spec)
    for key in ("initContainers", "containers"):
        containers = []
        for container in spec.get(key) or ():
            ports = container.get("ports") or ()
            if any(not p.get("hostPort") for p in ports):
                container = dict(container)
                container["ports"] = [
                    p if p.get("hostPort") else dict(p, hostPort=p.get("containerPort")) for p in ports
                ]
            containers.append(container)
        if key in spec:
            spec[key] = containers
    return spec


def _apparmor_field(annotation: str) -> Optional[dict]:
    """The appArmorProfile field for an annotation value, or None when it converts to no valid field."""
    if annotation == "runtime/default":
        return {"type": "RuntimeDefault"}
    if annotation == "unconfined":
        return {"type": "Unconfined"}
    if annotation.startswith("localhost/") and len(annotation) > len("localhost/"):
        return {"type": "Localhost", "localhostProfile": annotation[len("localhost/"):]}
    return None


def _apparmor_annotations_to_fields(annotations: dict, spec: dict) -> dict:
    if (spec.get("os") or {}).get("name") == "windows":
        return spec
    pod_profile = (spec.get("securityContext") or {}).get("appArmorProfile")
    spec = dict(spec)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        if key not in spec:
            continue
        containers = []
        for container in spec.get(key) or ():
            value = annotations.get(_APPARMOR_PREFIX + str(container.get("name") or ""))
            sc = container.get("securityContext") or {}
            profile = _apparmor_field(str(value)) if value is not None else None
            if profile is not None and sc.get("appArmorProfile") is None and profile != pod_profile:
                container = dict(container, securityContext=dict(sc, appArmorProfile=profile))
            containers.append(container)
        spec[key] = containers
    return spec
