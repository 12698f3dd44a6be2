"""The fixer: the smallest manifest changes that make workloads pass a Pod Security level.

It sets what has a safe value (the fields the PMM 3 blog adds by hand):
per container `allowPrivilegeEscalation: false` and `capabilities.drop: [ALL]`,
per pod `runAsNonRoot: true` and `seccompProfile: {type: RuntimeDefault}`;
an explicit `Unconfined` seccomp or AppArmor profile (field or the legacy
`container.apparmor.security.beta.kubernetes.io/*: unconfined` annotation)
becomes RuntimeDefault, and a `procMount: Unmasked` the level rejects becomes
`Default`. A `List`'s items are fixed as `pss check` reads them. Then it
re-checks every object with the evaluator; whatever still violates the level
(host namespaces, hostPath volumes, privileged, added capabilities, uid 0...)
is listed with the reason it cannot be changed without knowing the workload,
and so is a restricted pod without runAsUser: admission allows it, but the
kubelet starts it only if the image's USER is numeric and not 0, which the
fixer cannot see.

Documents that need no change are kept byte for byte. A changed document is
re-written by ruamel.yaml's round trip: key order, comments and quoting stay as
they were, new keys come last; only the indentation of block sequences is
made one style per document (the one most of its sequences use).
"""

from __future__ import annotations

import difflib
import io
import re
from dataclasses import dataclass, field
from typing import List

from ..errors import UsageError
from .checks import containers_phrase
from .evaluator import Violation, evaluate
from .levels import BASELINE, RESTRICTED, validate_level
from .manifests import has_pod_spec, list_items, pod_spec_of

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
UNCONFINED = "Unconfined"
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"

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
IMAGE_USER_REASON = "runAsUser not set"
IMAGE_USER_WHY = (
    "admission allows it, but runAsNonRoot=true needs a numeric, non-zero image USER and the fixer cannot "
    "see the image: if its user is a name (PMM 3 runs as `pmm`) or root, the kubelet refuses to start it; "
    "set runAsUser (e.g. 1000) to a uid the image supports"
)


@dataclass
class Unfixable:
    kind: str
    name: str
    violation: Violation
    why: str
    admission: bool = True  # False: the level allows it, something after admission does not

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, **self.violation.as_dict(), "why": self.why,
                "admission": self.admission}


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
        """The fixed manifest passes the level at admission."""
        return all(not u.admission for u in self.unfixable)

    @property
    def complete(self) -> bool:
        """Nothing is left to do by hand."""
        return not self.unfixable

    def diff(self, name: str) -> str:
        return "".join(difflib.unified_diff(self.original.splitlines(keepends=True),
                                            self.fixed.splitlines(keepends=True),
                                            fromfile=name, tofile=f"{name} (fixed)"))

    def as_dict(self) -> dict:
        return {"level": self.level, "version": self.version, "allowed": self.allowed,
                "complete": self.complete, "changes": self.changes,
                "unfixable": [u.as_dict() for u in self.unfixable], "notes": self.notes}


_DOC_START = re.compile(r"^---(?=\s|$)", re.M)
_BLOCK_KEY = re.compile(r"^( *)[^\s#-][^#]*:\s*(#.*)?$")
_DASH = re.compile(r"^( *)- ")


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
    from ruamel.yaml import YAMLError

    for index, piece in enumerate(split_documents(text), 1):
        try:
            obj = _round_trip(piece).load(piece)
        except YAMLError as exc:
            raise UsageError(f"{source}: document {index} is not valid YAML: {exc}",
                             hint="fix the YAML first (`pss check` names the line)") from None
        changed = False
        for workload in _workloads(obj):
            changed |= _fix_workload(workload, level, version, result)
        pieces.append(_render(piece, obj) if changed else piece)
    result.fixed = "".join(pieces)
    return result


def _workloads(obj) -> List[dict]:
    """The objects with a pod spec in a document: itself, or a List's items."""
    if not isinstance(obj, dict):
        return []
    items = list_items(obj)
    if items is not None:
        return [item for item in items if isinstance(item, dict) and has_pod_spec(item)]
    return [obj] if has_pod_spec(obj) else []


def _label(obj: dict) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name', '')}"


def _fix_workload(workload: dict, level: str, version: str, result: FixResult) -> bool:
    """Fix one workload in place and record what was done and what is left; True when it changed."""
    label = _label(workload)
    kind, name = label.split("/", 1)
    changes = fix_object(workload, level, version)
    result.changes += [f"{label}: {c}" for c in changes]
    verdict = evaluate(workload, level, version)
    result.unfixable += [Unfixable(kind, name, v, _why(v)) for v in verdict.violations]
    if level == RESTRICTED:
        without_user = _without_run_as_user(workload)
        if without_user:
            detail = (f"{containers_phrase(without_user)} must set securityContext.runAsUser "
                      f"or run an image whose USER is a numeric, non-zero uid")
            result.unfixable.append(Unfixable(kind, name, Violation(IMAGE_USER_REASON, detail), IMAGE_USER_WHY,
                                              admission=False))
    return bool(changes)


def _why(violation: Violation) -> str:
    for prefix, why in WHY:
        if violation.reason.startswith(prefix):
            return why
    return "no value is safe to set without knowing the workload"


def _round_trip(piece: str):
    """ruamel.yaml set to write back what it read: quotes kept, no re-wrapping, the piece's sequence style."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    if _sequences_indented(piece):
        yaml.indent(mapping=2, sequence=4, offset=2)
    else:
        yaml.indent(mapping=2, sequence=2, offset=0)  # kubectl's style: `- ` under its key
    return yaml


def _sequences_indented(piece: str) -> bool:
    """Do most block sequences sit deeper than their key (`key:` then `  - x`)?"""
    indented = flush = 0
    key_indent = None
    for line in piece.splitlines():
        dash, key = _DASH.match(line), _BLOCK_KEY.match(line)
        if dash and key_indent is not None:
            if len(dash.group(1)) > key_indent:
                indented += 1
            else:
                flush += 1
        key_indent = len(key.group(1)) if key and not dash else None
    return indented > flush


def _render(piece: str, obj) -> str:
    out = io.StringIO()
    _round_trip(piece).dump(obj, out)
    marker = "---\n" if piece.startswith("---") else ""
    blank_lines = max(len(piece) - len(piece.rstrip("\n")) - 1, 0)
    return marker + out.getvalue().rstrip("\n") + "\n" + "\n" * blank_lines


def fix_object(obj: dict, level: str, version: str = "latest") -> List[str]:
    """Change obj's pod spec in place; the list of changes made, in words."""
    found = pod_spec_of(obj)
    if found is None or not isinstance(found[1], dict) or level not in (BASELINE, RESTRICTED):
        return []
    metadata, spec = found
    rejected = {v.reason for v in evaluate(obj, level, version).violations}
    changes: List[str] = []
    pod_context = _mapping(spec, "securityContext")
    for key, what in (("seccompProfile", "seccompProfile"), ("appArmorProfile", "appArmorProfile")):
        if _unconfined(pod_context, key):
            changes.append(f"pod {what}.type Unconfined -> RuntimeDefault")
        for container in _containers(spec):
            if _unconfined(_mapping(container, "securityContext"), key):
                changes.append(f"container {container.get('name')!r} {what}.type Unconfined -> RuntimeDefault")
    changes += _apparmor_annotation_fixes(metadata)
    if "procMount" in rejected:  # not for a user-namespace pod that the level allows it (v1.35+)
        for container in _containers(spec):
            context = _mapping(container, "securityContext")
            if context.get("procMount") == "Unmasked":
                context["procMount"] = "Default"
                changes.append(f"container {container.get('name')!r} securityContext.procMount Unmasked -> Default")
    if level == RESTRICTED:
        changes += _restricted_fixes(spec, pod_context)
    for holder in (spec, *_containers(spec)):
        if holder.get("securityContext") == {}:
            del holder["securityContext"]  # only created for the checks above; nothing was set
    return changes


def _apparmor_annotation_fixes(metadata: dict) -> List[str]:
    """The legacy per-container annotation `unconfined` becomes `runtime/default`."""
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict):
        return []
    changes = []
    for key, value in annotations.items():
        if key.startswith(APPARMOR_ANNOTATION_PREFIX) and value == "unconfined":
            annotations[key] = "runtime/default"
            changes.append(f"annotation {key} unconfined -> runtime/default")
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


def _unconfined(context: dict, key: str) -> bool:
    """Replace an explicit Unconfined seccompProfile or appArmorProfile by RuntimeDefault; True when it did."""
    profile = context.get(key)
    if isinstance(profile, dict) and profile.get("type") == UNCONFINED:
        profile["type"] = "RuntimeDefault"
        return True
    return False


def _containers(spec: dict) -> List[dict]:
    return [c for key in CONTAINER_LISTS for c in (spec.get(key) or []) if isinstance(c, dict)]


def _without_run_as_user(obj: dict) -> List[str]:
    """Names of the containers that run with runAsNonRoot=true and no runAsUser (pod or container)."""
    found = pod_spec_of(obj)
    if found is None:
        return []
    pod_context = found[1].get("securityContext") or {}
    names = []
    for container in _containers(found[1]):
        context = container.get("securityContext") or {}
        if (_effective(context, pod_context, "runAsNonRoot") is True
                and _effective(context, pod_context, "runAsUser") is None):
            names.append(str(container.get("name") or ""))
    return names


def _effective(context: dict, pod_context: dict, key: str):
    """A container's setting, else the pod's (as the kubelet resolves it)."""
    return context[key] if context.get(key) is not None else pod_context.get(key)


def _show(value) -> str:
    return "true" if value is True else f'{{type: {value["type"]}}}' if isinstance(value, dict) else str(value)


def fix_file(path: str, level: str = RESTRICTED, version: str = "latest") -> FixResult:
    """Read and fix one file (`-` is stdin)."""
    from .. import inputs

    name = inputs.display_name(path)
    text = inputs.read_text(path, "manifest")
    for _ in inputs.compose_all(text, name):  # bounded: depth, aliases, duplicate keys, only core tags
        pass
    return fix_text(text, level, version, source=name)
