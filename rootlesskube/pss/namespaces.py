"""Pod Security namespaces on a cluster: apply the labels, show what is in force.

`apply_namespace` creates or updates a Namespace with its
`pod-security.kubernetes.io/*` labels. Its dry run changes nothing: it asks
the server what the apply would do (`--dry-run=server`) and evaluates the
pods already in the namespace with our own evaluator against the new enforce
level, reporting them as `kubectl label --dry-run=server` does (contracts
§5.6), so it gives the same answer on any cluster. As upstream's
ValidateNamespace (pss-checks.md "Namespace label changes"), the pods are not
evaluated when the enforce policy is unchanged, privileged, or only loosened
at the same version, nor in an exempt namespace.

`ClusterDefaults` is the cluster-wide configuration (defaults and exempt
namespaces) of a cluster rootlesskube created; without it the built-in
default privileged:latest applies and nothing is exempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..errors import RootlesskubeError
from ..kube import Kubectl
from ..names import dns1123_label
from ..run import CommandError
from .evaluator import Violation, evaluate
from .labels import MODES, STRICTNESS, ModePolicy, PssLabels
from .levels import PRIVILEGED


@dataclass(frozen=True)
class ClusterDefaults:
    """The AdmissionConfiguration a cluster was created with: defaults for unlabeled modes, exempt namespaces."""

    defaults: PssLabels
    exempt: Tuple[str, ...] = ()


def cluster_defaults(driver: str, spec: dict) -> Optional[ClusterDefaults]:
    """What the driver gave the API server for a cluster spec (a record's `spec`): the kind driver writes
    `--pss-default LEVEL` as the enforce default with kube-system and its CNI's namespace exempt
    (drivers/kind.py pss_admission); None when the spec sets no default."""
    level = spec.get("pss_default")
    if not level or driver != "kind":
        return None
    from ..drivers.kind import exempt_namespaces

    return ClusterDefaults(PssLabels(enforce=ModePolicy(level)), tuple(exempt_namespaces()))


@dataclass(frozen=True)
class PodRejection:
    pod: str
    violations: List[Violation]


@dataclass
class NamespaceResult:
    name: str
    labels: PssLabels
    operation: str  # kubectl's word: created, configured, unchanged
    dry_run: bool = False
    pods_checked: int = 0
    rejected: List[PodRejection] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)  # kubectl label --dry-run=server shape, no "Warning: "
    not_evaluated: str = ""  # why the dry run evaluated no pods, as upstream skips them

    def as_dict(self) -> dict:
        return {
            "namespace": self.name,
            "operation": self.operation,
            "dry_run": self.dry_run,
            "labels": self.labels.to_labels(),
            "pods_checked": self.pods_checked,
            "would_reject": [{"pod": r.pod, "violations": [v.as_dict() for v in r.violations]}
                             for r in self.rejected],
            "warnings": self.warnings,
            "not_evaluated": self.not_evaluated,
        }


@dataclass(frozen=True)
class NamespaceLevels:
    name: str
    labels: PssLabels
    effective: Dict[str, ModePolicy]
    source: Dict[str, str] = field(default_factory=dict)  # per mode: label, follows enforce, cluster default, ...
    exempt: bool = False

    @property
    def unlabeled(self) -> bool:
        return self.labels.unlabeled

    def as_dict(self) -> dict:
        return {
            "namespace": self.name,
            "unlabeled": self.unlabeled,
            "exempt": self.exempt,
            "labels": self.labels.to_labels(),
            "effective": {mode: {"level": p.level, "version": p.version} for mode, p in self.effective.items()},
            "source": self.source,
        }


def namespace_manifest(name: str, labels: PssLabels) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": name, "labels": labels.to_labels()}}, indent=2)


def apply_namespace(kubectl: Kubectl, name: str, labels: PssLabels, dry_run: bool = False,
                    cluster: Optional[ClusterDefaults] = None) -> NamespaceResult:
    """Create or update Namespace `name` with `labels`; with dry_run, report instead of change."""
    dns1123_label(name, "namespace")
    labels.validated()
    before = _current_labels(kubectl, name) if dry_run else None
    result = kubectl.apply(namespace_manifest(name, labels), dry_run="server" if dry_run else None)
    outcome = NamespaceResult(name, labels, _operation(result.stdout, name), dry_run)
    if not dry_run:
        return outcome
    defaults = cluster.defaults if cluster else None
    new_enforce = labels.effective(defaults)["enforce"]
    # in upstream's order: unchanged, privileged, loosened, then exempt
    outcome.not_evaluated = _skip_reason(before.effective(defaults)["enforce"] if before else None, new_enforce)
    if outcome.not_evaluated:
        return outcome
    if cluster and name in cluster.exempt:
        outcome.not_evaluated = "the namespace is exempt from Pod Security"
        outcome.warnings = exempt_namespace_warning(name, labels, defaults)
        return outcome
    pods = kubectl.get_json(["pods"], namespace=name).get("items") or []
    outcome.pods_checked = len(pods)
    for pod in pods:
        verdict = evaluate(pod, new_enforce.level, new_enforce.version)
        if not verdict.allowed:
            outcome.rejected.append(PodRejection(pod["metadata"]["name"], verdict.violations))
    outcome.warnings = label_dry_run_warnings(name, new_enforce, outcome.rejected)
    return outcome


def _current_labels(kubectl: Kubectl, name: str) -> Optional[PssLabels]:
    """The namespace's labels now; None when it does not exist yet."""
    try:
        found = kubectl.get_json(["namespace", name])
    except CommandError as exc:
        if "(NotFound)" in exc.stderr:
            return None
        raise
    return PssLabels.from_labels((found.get("metadata") or {}).get("labels"))


def _skip_reason(old: Optional[ModePolicy], new: ModePolicy) -> str:
    """Why ValidateNamespace evaluates no pods for this enforce change; "" when it does."""
    if new.level == PRIVILEGED:
        return "the new enforce level is privileged"
    if old is None:
        return ""  # a namespace being created has no pods; those listed (if any) are evaluated
    if old == new:
        return f"the enforce policy {new} is unchanged"
    if old.version == new.version and STRICTNESS.get(new.level, 2) <= STRICTNESS.get(old.level, 2):
        return f"the enforce level is not tightened ({old} -> {new})"
    return ""


def exempt_namespace_warning(name: str, labels: PssLabels, defaults: Optional[PssLabels]) -> List[str]:
    """exemptNamespaceWarning: the labeled modes that are not privileged, unless the policy is fully
    privileged or the same as the defaults."""
    effective = labels.effective(defaults)
    if (all(p.level == PRIVILEGED for p in effective.values())
            or effective == (defaults or PssLabels()).effective()):
        return []
    modes = [f"{mode}={policy}" for mode, policy in labels.modes().items()
             if policy is not None and policy.level != PRIVILEGED]
    if not modes:
        return []
    return [f'namespace "{name}" is exempt from Pod Security, and the policy ({", ".join(modes)}) will be ignored']


def _operation(stdout: str, name: str) -> str:
    """`created` from `namespace/NAME created (server dry run)`."""
    prefix = f"namespace/{name} "
    for line in stdout.splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].replace(" (server dry run)", "")
    raise RootlesskubeError(f"kubectl apply printed no result for namespace {name!r}: {stdout.strip()!r}")


def label_dry_run_warnings(name: str, enforce: ModePolicy, rejected: List[PodRejection]) -> List[str]:
    """The warnings of EvaluatePodsInNamespace: a header, then one line per distinct set of
    reasons naming its lexically smallest pod and how many others share it, sorted."""
    if not rejected:
        return []
    groups: Dict[str, List[str]] = {}
    for rejection in rejected:
        groups.setdefault(", ".join(v.reason for v in rejection.violations), []).append(rejection.pod)
    lines = []
    for reasons, pods in groups.items():
        others = len(pods) - 1
        suffix = "" if others == 0 else " (and 1 other pod)" if others == 1 else f" (and {others} other pods)"
        lines.append(f"{min(pods)}{suffix}: {reasons}")
    header = f'existing pods in namespace "{name}" violate the new PodSecurity enforce level "{enforce}"'
    return [header, *sorted(lines)]


def show_namespaces(kubectl: Kubectl, name: Optional[str] = None,
                    cluster: Optional[ClusterDefaults] = None) -> List[NamespaceLevels]:
    """The Pod Security labels and the levels in force of one namespace or all of them.

    `cluster` is the cluster-wide configuration when known (built-in: privileged:latest, nothing exempt).
    """
    if name is None:
        namespaces = kubectl.get_json(["namespaces"]).get("items") or []
    else:
        dns1123_label(name, "namespace")
        try:
            namespaces = [kubectl.get_json(["namespace", name])]
        except CommandError as exc:
            if "(NotFound)" in exc.stderr:
                raise RootlesskubeError(
                    f"namespace {name!r} does not exist on this cluster",
                    hint=f"create it: rootlesskube ns apply {name} --enforce restricted",
                ) from None
            raise
    defaults = cluster.defaults if cluster else None
    result = []
    for namespace in namespaces:
        ns_name = namespace["metadata"]["name"]
        labels = PssLabels.from_labels((namespace.get("metadata") or {}).get("labels"))
        effective = labels.effective(defaults)
        result.append(NamespaceLevels(ns_name, labels, effective, _sources(labels, effective, defaults),
                                      exempt=bool(cluster) and ns_name in cluster.exempt))
    return result


def _sources(labels: PssLabels, effective: Dict[str, ModePolicy], defaults: Optional[PssLabels]) -> Dict[str, str]:
    sources = {}
    for mode in MODES:
        if getattr(labels, mode) is not None:
            sources[mode] = "label"
        elif mode == "warn" and labels.enforce is not None and effective["warn"] == labels.enforce:
            sources[mode] = "follows enforce"
        elif defaults is not None and getattr(defaults, mode) is not None:
            sources[mode] = "cluster default"
        else:
            sources[mode] = "built-in default"
    return sources
