"""The kubectl stand-in's object store: the cluster's objects as JSON files.

Layout: $RK_STANDIN_STATE/kubectl/objects/<plural>/<namespace or "_cluster">/<name>.json.
Stand-ins (kubectl verbs; kind seeding Node objects) and tests (through
kube_scenario) share it:

    store = ObjectStore(state_dir)
    store.put(obj)                          # kind, metadata.namespace, metadata.name from obj
    store.get("Pod", "web", "demo")         # -> dict or None
    store.list("Pod", namespace="demo")     # -> [dict], sorted by namespace then name; None = all
    store.delete("Pod", "web", "demo")      # -> True when it existed
    resource("po") / resource("Deployment") # -> Resource (kind, plural, group, namespaced)

Kinds are looked up by Kind, plural, singular or kubectl short name; an
unknown kind raises KeyError (verbs turn it into kubectl's own error).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional


@dataclass(frozen=True)
class Resource:
    kind: str
    plural: str
    group: str = ""
    namespaced: bool = True
    short: tuple = ()

    @property
    def qualified_plural(self) -> str:
        """`pods`, `deployments.apps`: how kubectl names the resource in errors."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """`pod`, `deployment.apps`: the prefix of apply's `<kind>[.<group>]/<name>` lines."""
        kind = self.kind.lower()
        return f"{kind}.{self.group}" if self.group else kind


RESOURCES = (
    Resource("Namespace", "namespaces", namespaced=False, short=("ns",)),
    Resource("Node", "nodes", namespaced=False, short=("no",)),
    Resource("Pod", "pods", short=("po",)),
    Resource("Service", "services", short=("svc",)),
    Resource("ServiceAccount", "serviceaccounts", short=("sa",)),
    Resource("ConfigMap", "configmaps", short=("cm",)),
    Resource("Secret", "secrets"),
    Resource("PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",)),
    Resource("PersistentVolume", "persistentvolumes", namespaced=False, short=("pv",)),
    Resource("ReplicationController", "replicationcontrollers", short=("rc",)),
    Resource("PodTemplate", "podtemplates"),
    Resource("Event", "events", short=("ev",)),
    Resource("Deployment", "deployments", "apps", short=("deploy",)),
    Resource("StatefulSet", "statefulsets", "apps", short=("sts",)),
    Resource("DaemonSet", "daemonsets", "apps", short=("ds",)),
    Resource("ReplicaSet", "replicasets", "apps", short=("rs",)),
    Resource("Job", "jobs", "batch"),
    Resource("CronJob", "cronjobs", "batch", short=("cj",)),
    Resource("StorageClass", "storageclasses", "storage.k8s.io", namespaced=False, short=("sc",)),
    Resource("Role", "roles", "rbac.authorization.k8s.io"),
    Resource("RoleBinding", "rolebindings", "rbac.authorization.k8s.io"),
    Resource("ClusterRole", "clusterroles", "rbac.authorization.k8s.io", namespaced=False),
    Resource("ClusterRoleBinding", "clusterrolebindings", "rbac.authorization.k8s.io", namespaced=False),
)

_BY_NAME = {}
for _r in RESOURCES:
    for _name in (_r.kind, _r.kind.lower(), _r.plural, _r.qualified_plural, _r.qualified_kind, *_r.short):
        _BY_NAME[_name] = _r


def resource(name: str) -> Resource:
    """The resource for a Kind, plural, singular or short name; KeyError when unknown."""
    return _BY_NAME[name]


CLUSTER_SCOPE = "_cluster"


class ObjectStore:
    def __init__(self, state: Path):
        self.root = Path(state) / "kubectl" / "objects"

    def _path(self, res: Resource, name: str, namespace: Optional[str]) -> Path:
        scope = (namespace or "default") if res.namespaced else CLUSTER_SCOPE
        return self.root / res.plural / scope / f"{name}.json"

    def put(self, obj: dict) -> dict:
        """Store obj (a namespaced object without metadata.namespace goes to "default")."""
        res = resource(obj["kind"])
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        path = self._path(res, meta["name"], meta.get("namespace"))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(obj, sort_keys=True))
        os.replace(tmp, path)
        return obj

    def get(self, kind: str, name: str, namespace: Optional[str] = None) -> Optional[dict]:
        try:
            return json.loads(self._path(resource(kind), name, namespace).read_text())
        except FileNotFoundError:
            return None

    def list(self, kind: str, namespace: Optional[str] = None) -> List[dict]:
        """Objects of a kind, in one namespace or (None) all, sorted by namespace and name."""
        res = resource(kind)
        base = self.root / res.plural
        if res.namespaced and namespace is not None:
            scopes = [base / namespace]
        else:
            scopes = sorted(p for p in base.glob("*") if p.is_dir())
        return [json.loads(f.read_text()) for scope in scopes for f in sorted(scope.glob("*.json"))]

    def delete(self, kind: str, name: str, namespace: Optional[str] = None) -> bool:
        try:
            self._path(resource(kind), name, namespace).unlink()
            return True
        except FileNotFoundError:
            return False


def kubectl_json(obj) -> str:
    """kubectl's `-o json`: json.MarshalIndent with 4 spaces, sorted keys, Go's HTML-safe escapes."""
    text = json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text + "\n"


def list_of(items: List[dict]) -> dict:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def not_found(res: Resource, name: str) -> str:
    """The stderr line of a missing object (contracts §5.3); kubectl exits 1."""
    return f'Error from server (NotFound): {res.qualified_plural} "{name}" not found\n'
