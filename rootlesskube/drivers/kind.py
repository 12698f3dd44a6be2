"""kind on rootless Podman (contracts §1).

Traps handled here: every call needs KIND_EXPERIMENTAL_PROVIDER=podman;
`get clusters` reports "none" on stderr; `get kubeconfig` ends with an extra
blank line; a `--wait` timeout exits 0 with a warning; images are loaded from
an archive (`kind load docker-image` would call docker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Set

import yaml

from .. import paths, tools, ui
from ..errors import RootlesskubeError, UsageError
from ..podman import Podman
from ..run import CommandError, Result, run, tail
from . import nodes
from .base import USERNETES_ONLY, ClusterExists, ClusterSpec, ClusterStatus, CreateResult, Driver

ENV = {"KIND_EXPERIMENTAL_PROVIDER": "podman"}
WAIT = "5m"
POLICY_IN_NODE = "/etc/kubernetes/policies/pod-security.yaml"
WAIT_TIMED_OUT = "WARNING: Timed out waiting for Ready"
CLUSTER_LABEL = "io.x-k8s.kind.cluster"  # on every node container (providers/podman/provision.go @cda67ef)
OLD_ADDRESS = "/kind/old-ipv4"  # the node's address at its last boot (the node image's entrypoint @cda67ef)
STOP_SECONDS = 30  # systemd in the node shuts down on podman's stop signal; then podman kills it
RUNNING = "running"
ROOTLESS_DOC = "https://kind.sigs.k8s.io/docs/user/rootless/"
CNI = "kindnet"  # kind's default CNI; its namespace is exempt from the cluster-wide PodSecurity default
# kind's default StorageClass: local-path-provisioner runs in this unlabelled namespace with no securityContext,
# and its helper pods mount hostPath (pkg/build/nodeimage/const_storage.go @cda67ef): exempt, so PVCs bind
STORAGE_NAMESPACE = "local-path-storage"
# kind selects Kubernetes by node image. Only images built for the kind release rootlesskube pins
# (tools.RELEASES["kind"], v0.32.0) are listed, pinned by digest (contracts §1.12).
NODE_IMAGES = {
    "v1.36.1": "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
}

# kind's own error text -> (our message, hint)
_KNOWN_ERRORS = (
    ("running kind with rootless provider requires cgroup v2",
     "kind refuses rootless Podman here: the host does not use the unified cgroup v2 hierarchy",
     "boot with systemd.unified_cgroup_hierarchy=1 (see `rootlesskube doctor`), " + ROOTLESS_DOC),
    ('requires setting systemd property "Delegate=yes"',
     "kind refuses rootless Podman here: the cpu, memory and pids cgroup controllers are not delegated to you",
     "add a user@.service drop-in with Delegate=cpu cpuset io memory pids (see `rootlesskube doctor`), "
     "or run inside `systemd-run --user --scope -p Delegate=yes`"),
    ('executable file not found in $PATH',
     "kind could not run podman",
     "install Podman (Debian/Ubuntu: apt-get install podman)"),
    # kind's rootless doc (site/content/docs/user/rootless.md @cda67ef): under rootless Podman kind cannot
    # tail the node's log through the default log driver; k8s-file fixes it
    ("could not find a log line that matches",
     "kind could not read the node container's boot log (rootless Podman's log driver)",
     'set log_driver = "k8s-file" in the [containers] table of ~/.config/containers/containers.conf '
     "(kind's rootless guide: " + ROOTLESS_DOC + "), delete the cluster and run `rootlesskube up` again"),
)


def error_line(stderr: str) -> str:
    """kind's single `ERROR: ...` line (every kind error has one)."""
    for line in stderr.splitlines():
        if line.startswith("ERROR: "):
            return line[len("ERROR: "):]
    return ""


def node_image_for(spec: ClusterSpec) -> Optional[str]:
    """The node image for spec: --node-image, else the pinned image of --kubernetes, else kind's default."""
    if spec.kubernetes is None:
        return spec.node_image
    if spec.node_image is not None:
        tag = spec.node_image.split("@", 1)[0].rpartition(":")[2]
        if tag != spec.kubernetes:
            raise UsageError(f"--kubernetes {spec.kubernetes} and --node-image {spec.node_image} disagree",
                             hint="give one of them: kind runs the Kubernetes version of its node image")
        return spec.node_image
    if spec.kubernetes not in NODE_IMAGES:
        raise UsageError(
            f"kind selects Kubernetes by node image, and rootlesskube has no digest-pinned kindest/node image "
            f"for {spec.kubernetes} (known: {', '.join(sorted(NODE_IMAGES))})",
            hint="pass --node-image kindest/node:VERSION@sha256:DIGEST from the kind release notes "
                 "(https://github.com/kubernetes-sigs/kind/releases), without --kubernetes")
    return NODE_IMAGES[spec.kubernetes]


def cluster_config(spec: ClusterSpec, policy_file: Optional[Path]) -> dict:
    """The kind.x-k8s.io/v1alpha4 Cluster for spec (layout of contracts/kind/cluster-config.psa.yaml)."""
    control_plane: dict = {"role": "control-plane"}
    image = node_image_for(spec)
    if image:
        control_plane["image"] = image
    if spec.port_mappings:
        control_plane["extraPortMappings"] = [
            {"containerPort": m.container_port, "hostPort": m.host_port,
             "listenAddress": m.listen_address, "protocol": m.protocol}
            for m in spec.port_mappings
        ]
    if policy_file is not None:
        control_plane["extraMounts"] = [
            {"hostPath": str(policy_file), "containerPath": POLICY_IN_NODE, "readOnly": True}]
        control_plane["kubeadmConfigPatches"] = [yaml.safe_dump({
            "kind": "ClusterConfiguration",
            "apiServer": {
                "extraArgs": {"admission-control-config-file": POLICY_IN_NODE},
                "extraVolumes": [{"name": "policies", "hostPath": str(Path(POLICY_IN_NODE).parent),
                                  "mountPath": str(Path(POLICY_IN_NODE).parent), "readOnly": True,
                                  "pathType": "DirectoryOrCreate"}],
            },
        }, sort_keys=False)]
    nodes = [control_plane]
    for _ in range(spec.workers):
        worker: dict = {"role": "worker"}
        if image:
            worker["image"] = image
        nodes.append(worker)
    config = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "name": spec.name,
              "networking": {"apiServerAddress": "127.0.0.1", "apiServerPort": spec.api_port},
              "nodes": nodes}
    return config


def pss_admission(level: str) -> str:
    from ..pss.admission import admission_configuration
    from ..pss.labels import ModePolicy, PssLabels

    return admission_configuration(PssLabels(enforce=ModePolicy.validated(level)), exempt_namespaces())


def exempt_namespaces() -> List[str]:
    """The namespaces kind's cluster-wide PodSecurity default does not apply to: kube-system, the CNI's, storage."""
    from ..pss.admission import exemptions_for

    return exemptions_for(CNI, extra=(STORAGE_NAMESPACE,))


class KindDriver(Driver):
    name = "kind"
    unsupported = {"container_runtime": "kind nodes always run containerd", **USERNETES_ONLY}

    def check_spec(self, spec: ClusterSpec) -> None:
        super().check_spec(spec)
        node_image_for(spec)  # --kubernetes means a digest-pinned node image rootlesskube knows

    def _kind(self, *args: str, timeout: Optional[float] = None, check: bool = True) -> Result:
        return run([tools.binary("kind"), *args], env=ENV, timeout=timeout or self.query_timeout,
                   check=check, not_found_hint=tools.not_found_hint("kind"))

    def write_config(self, spec: ClusterSpec) -> Path:
        folder = self.workdir(spec.name)
        policy = None
        if spec.pss_default:
            policy = paths.write_private(folder / "pod-security.yaml", pss_admission(spec.pss_default))
            policy.chmod(0o644)  # the API server in the node reads it through a bind mount
        text = yaml.safe_dump(cluster_config(spec, policy), sort_keys=False)
        return paths.write_private(folder / "kind-config.yaml", text)

    def create(self, spec: ClusterSpec) -> CreateResult:
        config = self.write_config(spec)
        argv = ["create", "cluster", "--name", spec.name, "--config", str(config)]
        image = node_image_for(spec)
        if image:
            argv += ["--image", image]
        # --retain: on failure the nodes stay, so we can collect their logs before we delete them
        argv += ["--wait", WAIT, "--kubeconfig", str(self.kubeconfig_target(spec.name)), "--retain"]
        result = self._kind(*argv, timeout=self.create_timeout, check=False)
        if result.returncode != 0:
            raise self._create_error(spec.name, result)
        if WAIT_TIMED_OUT in result.stderr:
            return CreateResult(ready=False, warnings=[f"kind timed out after {WAIT} waiting for the control plane"])
        return CreateResult(ready=True)

    def _create_error(self, name: str, result: Result) -> RootlesskubeError:
        cause = error_line(result.stderr)
        if "node(s) already exist" in cause:
            return ClusterExists(f"a kind cluster named {name!r} already exists",
                                 hint=f"`rootlesskube up --name {name}` reuses it; `--recreate` replaces it")
        for needle, message, hint in _KNOWN_ERRORS:
            if needle in cause:
                return RootlesskubeError(f"{message} (kind: {cause})", hint=hint)
        return CommandError(result.argv, result.returncode, result.stdout, result.stderr,
                            hint="see the collected logs; `rootlesskube doctor` checks the host")

    def delete(self, name: str) -> None:
        # without --kubeconfig kind locks and edits $KUBECONFIG or ~/.kube/config (and creates ~/.kube)
        self._kind("delete", "cluster", "--name", name, "--kubeconfig", str(self.kubeconfig_target(name)), timeout=300)

    # --- stop and start (kind has no command for them: its nodes are rootless Podman containers) ---
    def stop(self, name: str) -> None:
        """`podman stop` the nodes, workers first: kind's podman provider gives them no restart policy
        (no --restart in pkg/cluster/internal/providers/podman/provision.go @cda67ef), so they stay stopped."""
        running = [n for n, state in self.node_states(name).items() if state == RUNNING]
        if running:
            ordered = list(reversed(self._ordered({n: RUNNING for n in running})))
            Podman().call("stop", "--time", str(STOP_SECONDS), *ordered, timeout=STOP_SECONDS * len(ordered) + 60)

    def start(self, name: str) -> None:
        """`podman start` the nodes, control plane first. A node's own new address is fixed by kind's entrypoint
        (images/base/files/usr/local/bin/entrypoint @cda67ef: /kind/old-ipv4 rewritten into its manifests); the
        other nodes are not told (kind #2272, #3190, #3473), so a multi-node cluster whose nodes got new
        addresses is refused with the way back, never left half-working."""
        states = self.node_states(name)
        if not states:
            raise RootlesskubeError(f"the kind cluster {name!r} has no node containers left",
                                    hint=f"`rootlesskube down --name {name}` removes its record; `rootlesskube up` "
                                         "creates it again")
        ordered = self._ordered(states)
        before = {node: self._last_address(name, node) for node in ordered} if len(ordered) > 1 else {}
        stopped = [node for node in ordered if states[node] != RUNNING]
        if stopped:
            Podman().call("start", *stopped, timeout=120 + 30 * len(stopped))
        moved = [f"{node} {old} -> {new}" for node, old in before.items()
                 if old and (new := self._address(node)) and new != old]
        if moved:
            self.stop(name)  # never left running half-working: `status` says stopped, not running
            raise RootlesskubeError(
                f"the nodes of the multi-node kind cluster {name!r} came back with new addresses ({'; '.join(moved)}); "
                "kind cannot bring such a cluster back on Podman (kind issues #2272, #3190, #3473), so they were "
                "stopped again",
                hint=f"the fastest safe way back: `rootlesskube up --name {name} --recreate` (the node image and your "
                     "images stay in your Podman store, so nothing is downloaded again; the workloads are lost)")

    def node_states(self, name: str) -> Dict[str, str]:
        """kind labels every node io.x-k8s.kind.cluster=NAME (contracts §1.10: `podman ps -a --filter label=...`)."""
        return nodes.states(CLUSTER_LABEL, name)

    @staticmethod
    def _ordered(states: Dict[str, str]) -> List[str]:
        """Control planes, then the rest (workers, the load balancer), by name."""
        return sorted(states, key=lambda node: ("-control-plane" not in node, node))

    @staticmethod
    def _address(node: str) -> str:
        """The node's address now (kind's own call, contracts §1.10 "node IPs")."""
        result = Podman().call("inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                               node, check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    def _last_address(self, name: str, node: str) -> str:
        """The address of the node's last boot: kind's entrypoint writes it to /kind/old-ipv4 at every boot;
        `podman cp` reads it from a stopped container too. "" when it cannot be read."""
        target = self.workdir(name) / f"{node}.old-ipv4"
        result = Podman().call("cp", f"{node}:{OLD_ADDRESS}", str(target), check=False)
        try:
            return target.read_text().strip() if result.returncode == 0 else ""
        except OSError:
            return ""
        finally:
            if target.exists():
                target.unlink()

    def exists(self, name: str) -> bool:
        return name in self._kind("get", "clusters").stdout.split()

    def node_containers(self, name: str) -> List[str]:
        return self._kind("get", "nodes", "--name", name).stdout.split()

    def status(self, name: str) -> ClusterStatus:
        if not self.exists(name):
            return ClusterStatus(name, self.name, exists=False)
        nodes = self.node_containers(name)
        return ClusterStatus(name, self.name, exists=True, running=bool(nodes), nodes=nodes)

    def kubeconfig(self, name: str) -> str:
        result = self._kind("get", "kubeconfig", "--name", name, check=False)
        if result.returncode != 0:
            raise RootlesskubeError(f"kind has no kubeconfig for cluster {name!r}: {error_line(result.stderr)}",
                                    hint="`rootlesskube status` lists the clusters that exist")
        return result.stdout.rstrip("\n") + "\n"  # kind prints one extra blank line

    def load_image(self, name: str, archive: Path) -> None:
        archive = Path(archive)
        if not archive.is_file():
            raise RootlesskubeError(f"the image archive {archive} does not exist",
                                    hint="write it with `podman save --format docker-archive -o FILE IMAGE`")
        from ..image_progress import ReadProgress

        with ReadProgress(archive):  # kind prints nothing while it loads: the bar is how far it has read
            self._kind("load", "image-archive", str(archive), "--name", name, timeout=900)

    def held_images(self, name: str) -> Dict[str, Set[str]]:
        """What every node's containerd holds, asked in the node as kind does (`crictl`, nodeutils.ImageID)."""
        from ..images import held_on_every_node

        return held_on_every_node(self.node_containers(name))

    def collect_logs(self, name: str, dir: Path) -> List[Path]:
        """kind prints the folder, collects what it can and aggregates the errors (exit 1): keep what it wrote."""
        result = self._kind("export", "logs", str(dir), "--name", name, timeout=300, check=False)
        folder = Path(result.stdout.strip() or dir)
        wrote = folder.is_dir() and any(folder.iterdir())
        if result.returncode != 0 and wrote:
            failed = error_line(result.stderr) or tail(result.stderr, 3) or f"exit {result.returncode}"
            ui.warn(f"kind export logs could not collect everything into {folder}: {failed}")
        return [folder] if wrote else []

    def delete_command(self, name: str) -> List[str]:
        return ["env", "KIND_EXPERIMENTAL_PROVIDER=podman", tools.binary("kind"), "delete", "cluster", "--name", name,
                "--kubeconfig", str(self.kubeconfig_target(name))]
