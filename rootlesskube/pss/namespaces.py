"""Pod Security namespaces on a cluster: apply the labels, show what is in force.

`apply_namespace` creates or updates a Namespace with its
`pod-security.kubernetes.io/*` labels. Its dry run changes nothing: it asks
the server what the apply would do (`--dry-run=server`) and evaluates the
pods already in the namespace with our own evaluator against the new enforce
level, reporting them as `kubectl label --dry-run=server` does (contracts
§5.6), so it gives the same answer on any cluster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..errors import RootlesskubeError
from ..kube import Kubectl
from ..names import dns1123_label
from ..run import CommandError
from .evaluator import Violation, evaluate
from .labels import ModePolicy, PssLabels
from .levels import PRIVILEGED


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
        }


@dataclass(frozen=True)
class NamespaceLevels:
    name: str
    labels: PssLabels
    effective: Dict[str, ModePolicy]

    @property
    def unlabeled(self) -> bool:
        return self.labels.unlabeled

    def as_dict(self) -> dict:
        return {
            "namespace": self.name,
            "unlabeled": self.unlabeled,
            "labels": self.labels.to_labels(),
            "effective": {mode: {"level": p.level, "version": p.version} for mode, p in self.effective.items()},
        }


def namespace_manifest(name: str, labels: PssLabels) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": name, "labels": labels.to_labels()}}, indent=2)


def apply_namespace(kubectl: Kubectl, name: str, labels: PssLabels, dry_run: bool = False) -> NamespaceResult:
    """Create or update Namespace `name` with `labels`; with dry_run, report instead of change."""
    dns1123_label(name, "namespace")
    labels.validated()
    result = kubectl.apply(namespace_manifest(name, labels), dry_run="server" if dry_run else None)
    outcome = NamespaceResult(name, labels, _operation(result.stdout, name), dry_run)
    enforce = labels.enforce
    if dry_run and enforce is not None and enforce.level != PRIVILEGED:
        pods = kubectl.get_json(["pods"], namespace=name).get("items") or []
        outcome.pods_checked = len(pods)
        for pod in pods:
            verdict = evaluate(pod, enforce.level, enforce.version)
            if not verdict.allowed:
                outcome.rejected.append(PodRejection(pod["metadata"]["name"], verdict.violations))
        outcome.warnings = label_dry_run_warnings(name, enforce, outcome.rejected)
    return outcome


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
                    defaults: Optional[PssLabels] = None) -> List[NamespaceLevels]:
    """The Pod Security labels and the levels in force of one namespace or all of them.

    `defaults` is the cluster-wide default when known (built-in: privileged:latest).
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
    result = []
    for namespace in namespaces:
        labels = PssLabels.from_labels((namespace.get("metadata") or {}).get("labels"))
        result.append(NamespaceLevels(namespace["metadata"]["name"], labels, labels.effective(defaults)))
    return result
