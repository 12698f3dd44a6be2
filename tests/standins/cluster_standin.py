"""Shared by the kind, minikube and make stand-ins: tool state, scenario switches, Node seeding.

Scenario switches are set by tests in $RK_STANDIN_STATE/scenario-<tool>.json
({"create": "rootless-no-delegation", ...}); `set_scenario` writes them.
Nodes a cluster tool "creates" are put into the kubectl stand-in's object
store (kube_objects) as the Node of contracts/kubectl/get-nodes.ready.json
(or .notready.json) with the sample names replaced. That store is the API
server's: $RK_STANDIN_API_STATE when set (a second "host" joining the first
host's cluster points it at the first host's $RK_STANDIN_STATE), else
$RK_STANDIN_STATE, where the kubectl stand-in reads it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import standin_lib
from kube_objects import ObjectStore

SAMPLE_NODE = "rk-dev-control-plane"
SAMPLE_CLUSTER = "rk-dev"


def scenario(tool: str, key: str, default: str = "ok") -> str:
    data = standin_lib.load_json(standin_lib.state_dir() / f"scenario-{tool}.json", {})
    return data.get(key, default)


def set_scenario(state: Path, tool: str, **switches) -> None:
    """For tests: e.g. set_scenario(state, "kind", create="rootless-no-delegation")."""
    path = Path(state) / f"scenario-{tool}.json"
    data = standin_lib.load_json(path, {})
    data.update(switches)
    standin_lib.save_json(path, data)


def substituted(relpath: str, names: Dict[str, str]) -> str:
    """A contract text with sample names replaced, longest sample first (so rk-dev-x beats rk-dev)."""
    text = standin_lib.contract(relpath)
    for sample in sorted(names, key=len, reverse=True):
        text = text.replace(sample, names[sample])
    return text


def substituted_local(relpath: str, names: Dict[str, str]) -> str:
    """Like substituted(), for a sample of tests/contracts/."""
    text = standin_lib.local_contract(relpath)
    for sample in sorted(names, key=len, reverse=True):
        text = text.replace(sample, names[sample])
    return text


class ToolState:
    """One JSON document per tool: {"clusters": {name: {...}}}."""

    def __init__(self, tool: str):
        self.path = standin_lib.state_dir() / f"{tool}-state.json"
        self.data = standin_lib.load_json(self.path, {"clusters": {}})

    @property
    def clusters(self) -> dict:
        return self.data["clusters"]

    def save(self) -> None:
        standin_lib.save_json(self.path, self.data)


def api_state_dir() -> Path:
    """The state directory whose object store plays the API server Nodes register with."""
    root = os.environ.get("RK_STANDIN_API_STATE")
    return Path(root) if root else standin_lib.state_dir()


def seed_nodes(cluster: str, nodes: List[str], provider_cluster: Optional[str] = None) -> None:
    ready = scenario("kubectl", "nodes") != "notready"
    sample = "kubectl/get-nodes.ready.json" if ready else "kubectl/get-nodes.notready.json"
    store = ObjectStore(api_state_dir())
    for node in nodes:
        item = json.loads(substituted(sample, {SAMPLE_NODE: node, f"/{SAMPLE_CLUSTER}/": f"/{cluster}/"}))["items"][0]
        store.put(item)


def remove_nodes(nodes: List[str]) -> None:
    store = ObjectStore(api_state_dir())
    for node in nodes:
        store.delete("Node", node)


def pause(tool: str, key: str) -> None:
    """Scenario `<key>_seconds`: a long step (e.g. create) that a test interrupts."""
    seconds = float(scenario(tool, f"{key}_seconds", "0"))
    if seconds:
        time.sleep(seconds)


def go_quoted_list(items: List[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(json.dumps(i) for i in items) + "]"


def real_nodes() -> bool:
    """RK_STANDIN_REAL_NODES=1: the nodes are real rootless Podman containers a test started (with a node's
    `ctr` and `crictl`); a stand-in then does inside them what its tool does inside a node."""
    return os.environ.get("RK_STANDIN_REAL_NODES") == "1"


def import_into_node(node: str, argv_in_node: List[str], archive: str) -> int:
    """`podman exec -i NODE ARGV` with the archive on stdin (ARGV ends in `-`), or copied in first when it
    names a path; returns the exit code (its output goes to this stand-in's stderr)."""
    import subprocess

    if argv_in_node[-1] == "-":
        with open(archive, "rb") as stdin:
            return subprocess.run(["podman", "exec", "-i", node, *argv_in_node], stdin=stdin,
                                  stdout=sys.stderr, timeout=300).returncode
    copied = subprocess.run(["podman", "cp", archive, f"{node}:{argv_in_node[-1]}"], stdout=sys.stderr, timeout=300)
    if copied.returncode:
        return copied.returncode
    return subprocess.run(["podman", "exec", node, *argv_in_node], stdout=sys.stderr, timeout=300).returncode


def archive_image_id(archive: str) -> Optional[str]:
    """What a node's containerd calls the image of a docker-archive: "sha256:" + the sha256 of the config
    file manifest.json names (core/images/archive/importer.go, internal/cri/store/image/image.go,
    containerd/containerd@301026e); None for a file that is not such an archive (tests' placeholder bytes)."""
    import hashlib
    import tarfile

    try:
        with tarfile.open(archive, "r:") as tar:
            entries = json.loads(tar.extractfile("manifest.json").read())
            return "sha256:" + hashlib.sha256(tar.extractfile(entries[0]["Config"]).read()).hexdigest()
    except (OSError, KeyError, ValueError, IndexError, TypeError, AttributeError, tarfile.TarError):
        return None


def node_image_ids() -> Dict[str, List[str]]:
    """Node container -> the image ids its containerd holds, after the loads the stand-ins played."""
    held: Dict[str, List[str]] = {}
    for tool in ("kind", "minikube"):
        for cluster in ToolState(tool).clusters.values():
            for node in cluster.get("nodes", []):
                held.setdefault(node, []).extend(cluster.get("image_ids", []))
    for checkout in ToolState("usernetes").clusters.values():
        if checkout.get("up"):
            held.setdefault(checkout["container"], [])
    for node, ids in standin_lib.load_json(standin_lib.state_dir() / "podman-node-images.json", {}).get(
            "ids", {}).items():
        held.setdefault(node, []).extend(ids)
    return held


def crictl_images_json(ids: List[str]) -> str:
    """`crictl images -o json` with these ids (the fields minikube parses: pkg/minikube/cruntime/cri.go
    crictlImages, kubernetes/minikube@c93a4cb)."""
    images = [{"id": i, "repoTags": [], "repoDigests": [], "size": "0", "uid": None, "username": ""}
              for i in dict.fromkeys(ids)]
    return json.dumps({"images": images}, indent=2) + "\n"
