"""The fixer: the smallest manifest changes that make workloads pass a Pod Security level.

It sets what has a safe value (the fields the PMM 3 blog adds by hand):
per container `allowPrivilegeEscalation: false` and `capabilities.drop: [ALL]`,
per pod `runAsNonRoot: true` and `seccompProfile: {type: RuntimeDefault}`;
an explicit `Unconfined` seccomp profile becomes `RuntimeDefault`. Then it
re-checks every object with the evaluator; whatever still violates the level
(host namespaces, hostPath volumes, privileged, added capabilities, uid 0...)
is listed with the reason it cannot be changed without knowing the workload.

Documents that need no change are kept byte for byte. A changed document is
re-written by pyyaml in its original key order, new keys last; pyyaml drops
comments, so comments inside a changed document are lost.
"""

from __future__ import annotations

import copy
import difflib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

import yaml

from ..errors import UsageError
from .evaluator import Violation, evaluate
from .levels import BASELINE, RESTRICTED, validate_level
from .manifests import has_pod_spec, pod_spec_of

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
UNSAFE_SECCOMP = "Unconfined"

# why a remaining violation needs a person, by the check's reason
WHY = (
    ("privileged", "the container asks for full host privileges; only its author knows whether it runs without them"),
    ("allowPrivilegeEscalation != false", "a privileged container always escalates; it can be set to false "
                                          "only once privileged is removed"),
    ("host namespaces", "the pod shares the node's network, PID or IPC namespace; use a Service or port-forward "
                        "instead, which changes how the workload is reached"),
    ("hostPath volumes", "a host directory cannot be made safe; use a PersistentVolumeClaim, emptyDir or configMap"),
    ("restricted volume types", "this volume type is not allowed; use a PersistentVolumeClaim, emptyDir, "
                                "configMap, secret, projected or downwardAPI volume"),
    ("hostPort", "a host port exposes the node; use a Service or port-forward"),
    ("non-default capabilities", "the container adds capabilities; remove them only if it works without them"),
    ("unrestricted capabilities", "the container adds capabilities other than NET_BIND_SERVICE; remove them only "
                                  "if it works without them"),
    ("runAsUser=0", "the manifest asks for uid 0; choose a non-zero uid that the image supports"),
    ("runAsNonRoot != true", "runAsNonRoot is explicitly false; set it to true only if the image runs as non-root"),
)
IMAGE_USER_NOTE = (
    "runAsNonRoot=true needs a numeric, non-zero image USER; if the image's user is a name "
    "(PMM 3 runs as `pmm`) or root, the kubelet refuses to start it: set runAsUser (e.g. 1000)"
)


@dataclass
class Unfixable:
    kind: str
    name: str
    violation: Violation
    why: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, **self.violation.as_dict(), "why": self.why}


@dataclass
class FixResult:
    original: str
    fixed: str
    level: str
    version: str
    changes: List[str] = field(default_factory=list)  # "StatefulSet/pmm-server: set ..."
    unfixable: List[Unfixable] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.unfixable

    def diff(self, name: str) -> str:
        return "".join(difflib.unified_diff(self.original.splitlines(keepends=True),
                                            self.fixed.splitlines(keepends=True),
                                            fromfile=name, tofile=f"{name} (fixed)"))

    def as_dict(self) -> dict:
        return {"level": self.level, "version": self.version, "allowed": self.allowed, "changes": self.changes,
                "unfixable": [u.as_dict() for u in self.unfixable], "notes": self.notes}


_DOC_START = re.compile(r"^---(?=\s|$)", re.M)
_COMMENT = re.compile(r"(^|\s)#", re.M)


def split_documents(text: str) -> List[str]:
    """The file's text cut at each `---` document marker, each piece keeping its marker line."""
    starts = [m.start() for m in _DOC_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


def fix_text(text: str, level: str = RESTRICTED, version: str = "latest", source: str = "<input>") -> FixResult:
    """Fix every workload in a (multi-document) YAML text; UsageError for unreadable YAML."""
    validate_level(level)
    result = FixResult(text, "", level, version)
    pieces = []
    for index, piece in enumerate(split_documents(text), 1):
        try:
            obj = yaml.safe_load(piece)
        except yaml.YAMLError as exc:
            raise UsageError(f"{source}: document {index} is not valid YAML: {exc}",
                             hint="fix the YAML first (`pss check` names the line)") from None
        if not isinstance(obj, dict) or not has_pod_spec(obj):
            pieces.append(piece)
            continue
        fixed = copy.deepcopy(obj)
        label = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name', '')}"
        changes = fix_object(fixed, level)
        verdict = evaluate(fixed, level, version)
        result.changes += [f"{label}: {c}" for c in changes]
        result.unfixable += [Unfixable(obj["kind"], label.split("/", 1)[1], v, _why(v)) for v in verdict.violations]
        if level == RESTRICTED and _needs_image_user(fixed):
            result.notes.append(f"{label}: {IMAGE_USER_NOTE}")
        if changes and _COMMENT.search(piece):
            result.notes.append(f"{label}: its comments were dropped (the YAML library does not keep them)")
        pieces.append(_render(piece, fixed) if changes else piece)
    result.fixed = "".join(pieces)
    return result


def _why(violation: Violation) -> str:
    for prefix, why in WHY:
        if violation.reason.startswith(prefix):
            return why
    return "no value is safe to set without knowing the workload"


def _render(piece: str, obj: dict) -> str:
    marker = "---\n" if piece.startswith("---") else ""
    blank_lines = max(len(piece) - len(piece.rstrip("\n")) - 1, 0)
    return marker + yaml.safe_dump(obj, sort_keys=False, default_flow_style=False) + "\n" * blank_lines


def fix_object(obj: dict, level: str) -> List[str]:
    """Change obj's pod spec in place; the list of changes made, in words."""
    found = pod_spec_of(obj)
    if found is None or not isinstance(found[1], dict) or level not in (BASELINE, RESTRICTED):
        return []
    spec = found[1]
    changes: List[str] = []
    pod_context = _mapping(spec, "securityContext")
    if _unconfined(pod_context):
        changes.append("pod seccompProfile.type Unconfined -> RuntimeDefault")
    for container in _containers(spec):
        if _unconfined(_mapping(container, "securityContext")):
            changes.append(f"container {container.get('name')!r} seccompProfile.type Unconfined -> RuntimeDefault")
    if level == RESTRICTED:
        changes += _restricted_fixes(spec, pod_context)
    for holder in (spec, *_containers(spec)):
        if holder.get("securityContext") == {}:
            del holder["securityContext"]  # only created for the checks above; nothing was set
    return changes


def _restricted_fixes(spec: dict, pod_context: dict) -> List[str]:
    changes = []
    containers = _containers(spec)
    for key, value in (("runAsNonRoot", True), ("seccompProfile", {"type": "RuntimeDefault"})):
        covered = containers and all(_mapping(c, "securityContext").get(key) is not None for c in containers)
        if pod_context.get(key) is None and not covered:
            pod_context[key] = value
            changes.append(f"set pod securityContext.{key}={_show(value)}")
    for container in containers:
        name = container.get("name")
        context = _mapping(container, "securityContext")
        # privileged with allowPrivilegeEscalation=false is invalid API input; privileged is reported instead
        if context.get("allowPrivilegeEscalation") is not False and not context.get("privileged"):
            context["allowPrivilegeEscalation"] = False
            changes.append(f"set container {name!r} securityContext.allowPrivilegeEscalation=false")
        capabilities = _mapping(context, "capabilities")
        drop = capabilities.get("drop") if isinstance(capabilities.get("drop"), list) else []
        if "ALL" not in drop:
            capabilities["drop"] = ["ALL", *drop]
            changes.append(f'set container {name!r} securityContext.capabilities.drop=["ALL"]')
    return changes


def _mapping(parent: dict, key: str) -> dict:
    """parent[key] as a dict, created empty when absent or null."""
    if not isinstance(parent.get(key), dict):
        parent[key] = {}
    return parent[key]


def _unconfined(context: dict) -> bool:
    """Replace an explicit Unconfined seccomp profile by RuntimeDefault; True when it did."""
    profile = context.get("seccompProfile")
    if isinstance(profile, dict) and profile.get("type") == UNSAFE_SECCOMP:
        profile["type"] = "RuntimeDefault"
        return True
    return False


def _containers(spec: dict) -> List[dict]:
    return [c for key in CONTAINER_LISTS for c in (spec.get(key) or []) if isinstance(c, dict)]


def _needs_image_user(obj: dict) -> bool:
    found = pod_spec_of(obj)
    if found is None:
        return False
    spec = found[1]
    if (spec.get("securityContext") or {}).get("runAsUser") is not None:
        return False
    return any((c.get("securityContext") or {}).get("runAsUser") is None for c in _containers(spec))


def _show(value) -> str:
    return "true" if value is True else f'{{type: {value["type"]}}}' if isinstance(value, dict) else str(value)


def fix_file(path: str, level: str = RESTRICTED, version: str = "latest") -> FixResult:
    """Read and fix one file (`-` is stdin)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", hint="give a readable YAML manifest file") from None
    return fix_text(text, level, version, source=path)
