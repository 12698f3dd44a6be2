"""What `rootlesskube pss check` computes: one record per Pod or workload in the manifests."""

from __future__ import annotations

from typing import Dict, List, Tuple

from .. import ui
from ..errors import UsageError
from .evaluator import evaluate
from .labels import PssLabels
from .levels import PRIVILEGED, parse_version, validate_level
from .manifests import WORKLOAD_KINDS, Document, ManifestError, has_pod_spec, load


def check_files(paths: List[str], level: str, version: str) -> List[dict]:
    """Evaluate every Pod and workload in paths; ManifestError for unreadable input or no such object."""
    validate_level(level)
    parse_version(version)
    records = [record(doc, level, version) for doc in load(paths) if has_pod_spec(doc.obj)]
    if not records:
        raise ManifestError(
            f"no Pod or workload with a pod template in {', '.join(paths)}",
            hint=f"give a manifest of one of these kinds: {', '.join(WORKLOAD_KINDS)}",
        )
    return records


def record(doc: Document, level: str, version: str) -> dict:
    """The issue's JSON record, its keys in its order, then `line` (where the object starts), which the
    text output and error messages use too."""
    try:
        result = evaluate(doc.obj, level, version)
    except UsageError as exc:
        raise ManifestError(f"{doc.file}: document {doc.doc_index}, line {doc.line}: {doc.kind} {doc.name!r}: {exc}",
                            hint=exc.hint) from None
    return {
        "file": doc.file,
        "doc": doc.doc_index,
        "kind": doc.kind,
        "name": doc.name,
        "level": result.level,
        "version": result.version,
        "allowed": result.allowed,
        "violations": [v.as_dict() for v in result.violations],
        "message": result.message(),
        "line": doc.line,
    }


def lines(records: List[dict]) -> List[str]:
    """One line per record: where, what, and `ok (level:version)` or the violation message."""
    out = []
    for r in records:
        verdict = f"ok ({r['level']}:{r['version']})" if r["allowed"] else r["message"]
        out.append(f"{r['file']}:{r['line']} {r['kind']}/{r['name']}: {verdict}")
    return out


def enforce_policy_from(path: str) -> Tuple[str, str]:
    """(level, version) that the Namespace in the manifest at path enforces."""
    namespaces = [d for d in load([path]) if d.kind == "Namespace"]
    if len(namespaces) != 1:
        raise ManifestError(
            f"{path}: expected exactly one Namespace, found {len(namespaces)}",
            hint="give --namespace-labels-from a manifest holding one Namespace",
        )
    doc = namespaces[0]
    labels: Dict[str, str] = (doc.obj.get("metadata") or {}).get("labels") or {}
    enforce = PssLabels.from_labels(labels).enforce
    if enforce is None:
        ui.say(f"note: Namespace {doc.name!r} has no pod-security.kubernetes.io/enforce label, so it enforces "
               f"the cluster default ({PRIVILEGED} unless the cluster sets one)")
        return PRIVILEGED, "latest"
    where = f"{doc.file}:{doc.line} Namespace {doc.name!r}"
    try:
        return validate_level(enforce.level), parse_version(enforce.version).text
    except UsageError as exc:
        raise ManifestError(f"{where}: its enforce labels are invalid: {exc}", hint=exc.hint) from None
