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
import subprocess
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


# --- node containers -------------------------------------------------------------------------------------------
# The nodes a cluster tool creates are containers of the user's Podman. With RK_STANDIN_NODE_IMAGE set (an image in
# the user's store, e.g. the tests' busybox) they are real rootless Podman containers, made, stopped, started and
# removed with the real podman; otherwise they are records in $RK_STANDIN_STATE/podman-containers.json that the
# podman stand-in in node/ answers `ps`, `start`, `stop`, `inspect` and `cp` for (as root, where rootless Podman
# cannot run). Every real tool names and labels its nodes as the callers pass here (kind: providers/podman/
# provision.go @cda67ef; minikube: pkg/drivers/kic/oci/oci.go @c93a4cb; podman-compose: podman_compose.py @0f6537e).
NODE_IMAGE_ENV = "RK_STANDIN_NODE_IMAGE"
# a node that ends on podman's SIGTERM at once (a kind node's systemd does on its stop signal)
NODE_COMMAND = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
SIM_ADDRESS_BASE = "10.89.0."  # podman's default network for a new network (kind issue #3071: "+1" per start)


def real_podman() -> Optional[str]:
    """The real podman on PATH (not the stand-in in node/)."""
    here = (Path(__file__).resolve().parent / "node").resolve()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / "podman"
        try:
            if folder and Path(folder).resolve() != here and candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        except OSError:  # a folder this user may not read
            continue
    return None


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([real_podman() or "podman", *args], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        standin_lib.emit(stderr=f"stand-in: podman {' '.join(args)} failed: {result.stderr}", code=99)
    return result


def _sim_path() -> Path:
    return standin_lib.state_dir() / "podman-containers.json"


def sim_containers() -> dict:
    return standin_lib.load_json(_sim_path(), {})


def save_sim_containers(data: dict) -> None:
    standin_lib.save_json(_sim_path(), data)


def real_nodes() -> bool:
    return bool(os.environ.get(NODE_IMAGE_ENV))


def create_containers(labelled: Dict[str, Dict[str, str]], var_volumes: Optional[Dict[str, str]] = None) -> None:
    """Create and start node containers {name: labels}. Each real tool keeps a node's /var in a volume, so it
    outlives the container: var_volumes {name: volume} ("" = kind's: `podman volume create --label NODE=true`,
    providers/podman/provision.go createAnonymousVolume @cda67ef)."""
    if real_nodes():
        for name, labels in labelled.items():
            args = ["run", "--detach", "--name", name, "--hostname", name]
            for key, value in labels.items():
                args += ["--label", f"{key}={value}"]
            volume = (var_volumes or {}).get(name)
            if volume == "":
                volume = _podman("volume", "create", "--label", f"{name}=true").stdout.strip()
            if volume:
                args += ["--volume", f"{volume}:/var"]
            _podman(*args, os.environ[NODE_IMAGE_ENV], *NODE_COMMAND)
        return
    data = sim_containers()
    for name, labels in labelled.items():
        address = f"{SIM_ADDRESS_BASE}{len(data) + 1}"
        data[name] = {"labels": labels, "state": "running", "address": address, "old_address": address}
    save_sim_containers(data)


def remove_containers(names: List[str], volumes: List[str] = (), labelled_volumes: bool = False) -> None:
    """Remove node containers, then the VOLUMES named (or, labelled_volumes, kind's: those labelled NODE=true)."""
    if real_nodes():
        if names:
            _podman("rm", "--force", "--ignore", "--volumes", "--time", "0", *names, check=False)
        found = list(volumes)
        for name in names if labelled_volumes else ():
            found += _podman("volume", "ls", "--filter", f"label={name}=true", "--quiet", check=False).stdout.split()
        if found:
            _podman("volume", "rm", "--force", *found, check=False)
        return
    data = sim_containers()
    for name in names:
        data.pop(name, None)
    save_sim_containers(data)


def container_state(name: str) -> Optional[str]:
    """Podman's state of the container, None when it does not exist."""
    if real_nodes():
        result = _podman("container", "inspect", "--format", "{{.State.Status}}", name, check=False)
        return result.stdout.strip() if result.returncode == 0 else None
    found = sim_containers().get(name)
    return found["state"] if found else None


def set_states(names: List[str], state: str) -> None:
    """Start (state "running") or stop ("exited") node containers."""
    if real_nodes():
        if names:
            _podman("start" if state == "running" else "stop", *(["--time", "10"] if state != "running" else []), *names)
        return
    data = sim_containers()
    readdress = scenario("podman", "readdress", "no") == "yes"
    for name in names:
        node = data[name]
        if state == "running" and node["state"] != "running":
            if readdress:  # a new address at each start, as podman gives (kind issues #2272, #3071)
                node["address"] = f"{SIM_ADDRESS_BASE}{int(node['address'].rsplit('.', 1)[1]) + 10}"
            node["old_address"] = node["address"]  # kind's entrypoint writes /kind/old-ipv4 at every boot
        node["state"] = state
    save_sim_containers(data)


def register_api_server(kubeconfig_text: str, control_plane: str) -> None:
    """Which node container serves the API server of a kubeconfig (the kubectl stand-in asks it)."""
    import yaml

    try:
        server = yaml.safe_load(kubeconfig_text)["clusters"][0]["cluster"]["server"]
    except (TypeError, KeyError, IndexError):
        return
    path = standin_lib.state_dir() / "api-servers.json"
    servers = standin_lib.load_json(path, {})
    servers.setdefault(server, [])
    if control_plane not in servers[server]:
        servers[server].append(control_plane)
    standin_lib.save_json(path, servers)


def api_server_down(server: str) -> bool:
    """True when every node container registered for SERVER exists but none runs (a stopped cluster)."""
    servers = standin_lib.load_json(standin_lib.state_dir() / "api-servers.json", {})
    nodes = servers.get(server) or []
    states = [container_state(n) for n in nodes]
    known = [s for s in states if s is not None]
    return bool(known) and all(s != "running" for s in known)


def imports_into_nodes() -> bool:
    """RK_STANDIN_REAL_NODES=1: the nodes are real rootless Podman containers with a node's `ctr` and `crictl`
    (node_tools/); kind's and minikube's stand-ins then import images inside them as the tools do."""
    return os.environ.get("RK_STANDIN_REAL_NODES") == "1"


def import_into_node(node: str, argv_in_node: List[str], archive: str) -> int:
    """`podman exec -i NODE ARGV` with the archive on stdin (ARGV ends in `-`), or copied in first when it
    names a path; returns the exit code (its output goes to this stand-in's stderr)."""
    if argv_in_node[-1] == "-":
        with open(archive, "rb") as stdin:
            return subprocess.run(["podman", "exec", "-i", node, *argv_in_node], stdin=stdin,
                                  stdout=sys.stderr, timeout=300).returncode
    copied = subprocess.run(["podman", "cp", archive, f"{node}:{argv_in_node[-1]}"], stdout=sys.stderr, timeout=300)
    if copied.returncode:
        return copied.returncode
    return subprocess.run(["podman", "exec", node, *argv_in_node], stdout=sys.stderr, timeout=300).returncode


def archive_image(archive: str) -> Optional[list]:
    """What a node's containerd holds after importing a docker-archive: ["sha256:" + the sha256 of the config file
    manifest.json names, its RepoTags] (core/images/archive/importer.go, internal/cri/store/image/image.go,
    containerd/containerd@301026e); None for a file that is not such an archive (tests' placeholder bytes)."""
    import hashlib
    import tarfile

    try:
        with tarfile.open(archive, "r:") as tar:
            entries = json.loads(tar.extractfile("manifest.json").read())
            config = tar.extractfile(entries[0]["Config"]).read()
            return ["sha256:" + hashlib.sha256(config).hexdigest(), list(entries[0].get("RepoTags") or [])]
    except (OSError, KeyError, ValueError, IndexError, TypeError, AttributeError, tarfile.TarError):
        return None


def node_images() -> Dict[str, Dict[str, List[str]]]:
    """Node container -> {image id: its names} its containerd holds, after the loads the stand-ins played."""
    held: Dict[str, Dict[str, List[str]]] = {}

    def add(node: str, images: list) -> None:
        mine = held.setdefault(node, {})
        for image_id, tags in images:
            mine[image_id] = sorted(set(mine.get(image_id, [])) | set(tags))

    for tool in ("kind", "minikube"):
        for cluster in ToolState(tool).clusters.values():
            for node in cluster.get("nodes", []):
                add(node, cluster.get("held_images", []))
    for checkout in ToolState("usernetes").clusters.values():
        if checkout.get("up"):
            add(checkout["container"], [])
    for node, images in standin_lib.load_json(standin_lib.state_dir() / "podman-node-images.json", {}).get(
            "held", {}).items():
        add(node, images)
    return held


def crictl_images_json(images: Dict[str, List[str]]) -> str:
    """`crictl images -o json` of these images (the fields minikube parses: pkg/minikube/cruntime/cri.go
    crictlImages, kubernetes/minikube@c93a4cb)."""
    listed = [{"id": i, "repoTags": tags, "repoDigests": [], "size": "0", "uid": None, "username": ""}
              for i, tags in images.items()]
    return json.dumps({"images": listed}, indent=2) + "\n"
