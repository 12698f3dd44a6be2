"""Usernetes Gen2 on rootless Podman, driven through its Makefile (contracts §3).

The checkout is the pinned release in the data directory, one per cluster
(data_dir()/usernetes/CLUSTER-RELEASE), or a directory the user names
(`--usernetes-dir`). podman-compose names the project, its containers and
volumes after the checkout's folder, so two clusters never share a checkout
(nor two checkouts a project name): `down` of one cannot touch another. `make`
runs in the checkout with CONTAINER_ENGINE=podman, COMPOSE=the podman-compose
rootlesskube checked (drivers.compose) and the PORT_* variables, so several
users on one host do not collide. Between `make up` and `make kubeadm-init`
it waits until the node's containerd answers (upstream CI sleeps 5 s).
`make kubeconfig` leaves ./kubeconfig in the checkout; that file is also how we know the cluster exists (`make down-v` does not
remove it, so `delete` does). A single node is then untainted with kubectl,
as the README's bootstrap ends, so that it runs workloads.

Extra hosts join over SSH: `make join-command` here, the file is copied with
scp, then `make up kubeadm-join` runs there (in --join-usernetes-dir, else the
same path as here), then `make sync-external-ip` here. ssh and scp go through
rootlesskube.run like every other command (timeouts, process-group kill,
argv lists); BatchMode makes them fail instead of prompting; --ssh-config is
passed as `-F` (port, identity, known hosts live there, as ssh expects). The
join command holds a token, so it travels as a file, never in argv, and is
private (0600) here and there.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from .. import paths, tools, ui
from ..errors import RootlesskubeError, UsageError
from ..kube import Kubectl
from ..podman import Podman
from ..run import CommandError, Result, pretty, run, tail, which
from . import compose, nodes
from .base import ClusterSpec, ClusterStatus, CreateResult, Driver

RELEASE = "gen2-v20251218.0"
COMPOSE_PROJECT_LABEL = "io.podman.compose.project"
RELEASE_COMMIT = "9658658396ec51fe74a8e9f2bc0b62792a7223e5"
REPOSITORY = "https://github.com/rootless-containers/usernetes.git"
DEFAULT_PORTS = {"PORT_ETCD": 2379, "PORT_KUBELET": 10250, "PORT_FLANNEL": 8472, "PORT_KUBE_APISERVER": 6443}
BRING_UP = ("up", "kubeadm-init", "install-flannel", "kubeconfig")
NODE_WAIT_SECONDS = 120.0  # after `make up`: until the node's containerd answers
NODE_POLL_SECONDS = 1.0
NODE_PROBE = ("ctr", "version")  # exits 0 once containerd in the node serves its socket
# a single node must also run workloads: the last step of the README's / CI's bootstrap (contracts §3.2)
UNTAINT = ("taint", "nodes", "--all", "node-role.kubernetes.io/control-plane-")
SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=10")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# preflight/recipe text -> hint
_HINTS = (
    ("Needs cgroup v2", "boot with systemd.unified_cgroup_hierarchy=1 (see `rootlesskube doctor`)"),
    ('Command "jq" is not installed', "install jq (Debian/Ubuntu: apt-get install jq)"),
    ('Command "make" is not installed', "install make"),
    ('Command "podman" is not installed', "install Podman (Debian/Ubuntu: apt-get install podman)"),
    ("systemd not running?", "Usernetes needs a systemd user session (user@UID.service) with cgroup delegation"),
    ("rp_filter", "set net.ipv4.conf.default.rp_filter to 0 or 2 (sysctl -w net.ipv4.conf.default.rp_filter=2)"),
    # make runs `$(COMPOSE) ...` directly (no shell metacharacters): GNU make 4.3 says "make: CMD: No such file..."
    ("podman-compose: No such file or directory", compose.INSTALL_HINT),
    ("No container engine was detected", "install Podman (Debian/Ubuntu: apt-get install podman)"),
)


def tagged(stderr: str, tag: str) -> List[str]:
    """The messages of preflight lines tagged [ERROR] or [WARNING] (ANSI colours removed)."""
    marker = f"[{tag}] "
    found = []
    for line in _ANSI.sub("", stderr).splitlines():
        if marker in line:
            found.append(line.split(marker, 1)[1].strip())
    return found


def make_error(target: str, result: Result) -> RootlesskubeError:
    errors = tagged(result.stderr, "ERROR")
    text = "; ".join(errors) or "\n".join(line for line in _ANSI.sub("", result.stderr).splitlines()
                                          if not line.startswith("make: ***")).strip()
    hint = next((h for needle, h in _HINTS if needle in result.stderr), None)
    if errors:
        return RootlesskubeError(f"Usernetes preflight check failed (make {target}): {text}",
                                 hint=hint or "fix the [ERROR] items above, then run `rootlesskube up` again")
    return CommandError(result.argv, result.returncode, result.stdout, result.stderr, hint=hint)


class UsernetesDriver(Driver):
    name = "usernetes"
    has_default_storage_class = False  # PVCs stay Pending: workloads fall back to emptyDir
    joins_hosts = True
    stop_removes_containers = True  # `make down`: the node container goes, its volumes stay
    unsupported = {
        "kubernetes": "the Kubernetes version is fixed by the pinned Usernetes release (its node image)",
        "node_image": "Usernetes builds its own node image",
        "pss_default": "the pinned Usernetes release has no setting for the API server's admission "
                       "configuration; label the namespaces instead (`rootlesskube ns`)",
        "workers": "Usernetes runs one node per host; add hosts with --join",
        "port_mappings": "its compose file publishes only the etcd, API server, kubelet and flannel ports",
        "container_runtime": "Usernetes nodes always run containerd",
    }

    def check_spec(self, spec: ClusterSpec) -> None:
        super().check_spec(spec)
        for host in spec.join_hosts:
            split_host(host)
    _compose: Optional[str] = None

    # --- where the checkout is ---
    def default_checkout(self, cluster: str) -> Path:
        """One checkout per cluster; its folder name (the compose project) holds the cluster's name."""
        return paths.data_dir() / "usernetes" / f"{cluster}-{RELEASE}"

    def checkout(self, cluster: str) -> Path:
        marker = self.workdir(cluster) / "usernetes-dir"
        return Path(marker.read_text().strip()) if marker.is_file() else self.default_checkout(cluster)

    def _check_not_shared(self, name: str, folder: Path) -> None:
        """Another cluster of this user whose checkout is this folder, or has its compose project name: refuse."""
        project = compose.project_name(folder)
        root = paths.state_dir() / "clusters"
        for marker in sorted(root.glob("*/usernetes-dir")) if root.is_dir() else []:
            other = marker.parent.name
            if other == name:
                continue
            theirs = Path(marker.read_text().strip())
            if theirs == folder or compose.project_name(theirs) == project:
                raise UsageError(
                    f"the Usernetes checkout {folder} (compose project {project!r}) is cluster {other!r}'s "
                    f"({theirs}); two clusters sharing a project would share the node container",
                    hint="give this cluster its own checkout, in a folder of another name (--usernetes-dir), "
                         "or leave --usernetes-dir out (each cluster then gets its own)")

    def _checkout_for(self, spec: ClusterSpec) -> Path:
        """The checkout spec asks for, refused (exit 2) when podman-compose cannot name it or it is another's."""
        folder = Path(spec.usernetes_dir).resolve() if spec.usernetes_dir else self.default_checkout(spec.name)
        if not compose.project_name(folder):
            raise UsageError(f"podman-compose cannot name a project after the folder {folder.name!r} "
                             "(nothing left of [-_a-z0-9])", hint="rename the checkout's folder")
        self._check_not_shared(spec.name, folder)
        return folder

    def preflight(self, spec: ClusterSpec) -> None:
        """Before anything is created or recorded: the checkout is this cluster's own, podman-compose is fit."""
        self._checkout_for(spec)
        self.compose()

    def ensure_checkout(self, spec: ClusterSpec) -> Path:
        folder = self._checkout_for(spec)
        if not (folder / "Makefile").is_file():
            if spec.usernetes_dir:
                raise RootlesskubeError(f"{folder} is not a Usernetes checkout (no Makefile)",
                                        hint=f"git clone --branch {RELEASE} {REPOSITORY} {folder}")
            folder.parent.mkdir(parents=True, exist_ok=True)
            run(["git", "clone", "--quiet", "--depth", "1", "--branch", RELEASE, REPOSITORY, str(folder)],
                timeout=600, hint=f"no network? clone {REPOSITORY} elsewhere and pass --usernetes-dir")
            head = run(["git", "-C", str(folder), "rev-parse", "HEAD"], timeout=30).stdout.strip()
            if head != RELEASE_COMMIT:
                raise RootlesskubeError(f"the Usernetes clone in {folder} is at {head}, expected {RELEASE_COMMIT}",
                                        hint=f"remove {folder} and run `rootlesskube up` again")
        paths.write_private(self.workdir(spec.name) / "usernetes-dir", str(folder) + "\n")
        # `start` runs `make up` again with the same PORT_* (the Makefile's `?=` defaults otherwise)
        paths.write_private(self.workdir(spec.name) / "usernetes-ports", json.dumps(self._ports(spec), sort_keys=True) + "\n")
        return folder

    def _ports(self, spec: Optional[ClusterSpec]) -> Dict[str, str]:
        ports = dict(DEFAULT_PORTS)
        if spec is not None:
            ports.update(dict(spec.usernetes_ports))
            if spec.api_port:
                ports["PORT_KUBE_APISERVER"] = spec.api_port
        return {k: str(v) for k, v in ports.items()}

    def compose(self) -> str:
        """The podman-compose make runs (Makefile: `COMPOSE ?=`), checked once per driver."""
        if self._compose is None:
            self._compose = compose.find()
        return self._compose

    def _make(self, folder: Path, target: str, spec: Optional[ClusterSpec] = None,
              timeout: Optional[float] = None, ports: Optional[Dict[str, str]] = None) -> Result:
        env = {"CONTAINER_ENGINE": "podman", "COMPOSE": self.compose(), **(ports or self._ports(spec))}
        result = run(["make", target], cwd=str(folder), env=env, timeout=timeout or self.create_timeout,
                     check=False, not_found_hint="install make (Debian/Ubuntu: apt-get install make)")
        if result.returncode != 0:
            raise make_error(target, result)
        return result

    # --- the protocol ---
    def create(self, spec: ClusterSpec) -> CreateResult:
        self.compose()  # a missing or too old podman-compose stops here, before any make target
        folder = self.ensure_checkout(spec)
        warnings: List[str] = []
        for target in BRING_UP:
            with ui.step(f"make {target}"):
                result = self._make(folder, target, spec)
                warnings += tagged(result.stderr, "WARNING")
            if target == "up":
                with ui.step("wait until the node's container runtime answers"):
                    self.wait_for_node(folder)
        if not spec.join_hosts:
            with ui.step("let the single node run workloads (remove the control-plane taint)"):
                Kubectl(str(folder / "kubeconfig")).run(UNTAINT)
        for host in spec.join_hosts:
            with ui.step(f"join {host} over SSH"):
                self.join(folder, spec, host)
        return CreateResult(ready=True, warnings=sorted(set(warnings)))

    def join(self, folder: Path, spec: ClusterSpec, host: str) -> None:
        target, port = split_host(host)
        remote_dir = spec.join_usernetes_dir or str(folder)
        # make's `>join-command` truncates an existing file and keeps its mode: the token is never world-readable
        paths.write_private(folder / "join-command", "")
        self._make(folder, "join-command", spec)
        config = ["-F", spec.ssh_config] if spec.ssh_config else []
        scp_port = ["-P", port] if port else []
        ssh_port = ["-p", port] if port else []
        login = pretty(["ssh", *config, *ssh_port, target, "true"])
        # no -q: it would also silence ssh, whose message says why the copy failed (no progress meter off-TTY)
        self._over_ssh(["scp", "-p", *config, *SSH_OPTIONS, *scp_port, str(folder / "join-command"),
                        f"{target}:{remote_dir}/join-command"], host, "copy the join command to", 120,
                       f"check that `{login}` works without a password and that {remote_dir} exists there")
        remote = ["env", "CONTAINER_ENGINE=podman", *[f"{k}={v}" for k, v in self._ports(spec).items()],
                  "make", "-C", remote_dir, "up", "kubeadm-join"]
        # ssh hands the remote shell one command line: quote each word so it arrives as this argv
        self._over_ssh(["ssh", *config, *SSH_OPTIONS, *ssh_port, target, "--", *map(shlex.quote, remote)], host,
                       "run `make up kubeadm-join` on", self.create_timeout,
                       f"the Usernetes checkout must exist at {remote_dir} on {target} "
                       "(--join-usernetes-dir names another), with make and podman-compose installed")
        self._make(folder, "sync-external-ip", spec)

    def wait_for_node(self, folder: Path) -> None:
        """Poll `podman exec NODE ctr version` until it succeeds, or fail after NODE_WAIT_SECONDS."""
        import time

        node = compose.node_container(folder)
        deadline = time.monotonic() + NODE_WAIT_SECONDS
        while True:
            result = Podman().call("exec", node, *NODE_PROBE, check=False, timeout=30)
            if result.returncode == 0:
                return
            if time.monotonic() >= deadline:
                said = tail(result.stderr, 3) or tail(result.stdout, 3)
                raise RootlesskubeError(
                    f"the Usernetes node container {node} did not answer within {NODE_WAIT_SECONDS:.0f}s after "
                    f"`make up` (`podman exec {node} {' '.join(NODE_PROBE)}`: exit {result.returncode}: {said})",
                    hint=f"see `podman logs {node}`; `make logs` in {folder} shows the node's journal")
            time.sleep(NODE_POLL_SECONDS)

    @staticmethod
    def _over_ssh(argv: List[str], host: str, doing: str, timeout: float, hint: str) -> None:
        try:
            run(argv, timeout=timeout, not_found_hint="install the OpenSSH client (apt-get install openssh-client)")
        except CommandError as exc:
            detail = tail(exc.stderr, 5) or tail(exc.stdout, 5) or str(exc)
            raise RootlesskubeError(f"joining {host} failed: could not {doing} {host}:\n{detail}",
                                    hint=hint) from None

    def delete(self, name: str) -> None:
        folder = self.checkout(name)
        if (folder / "Makefile").is_file():
            self._make(folder, "down-v", timeout=300)
            for leftover in ("kubeconfig", "join-command"):
                if (folder / leftover).exists():
                    (folder / leftover).unlink()

    def stop(self, name: str) -> None:
        """`make down` (`$(COMPOSE) down`, Makefile @9658658): the node container goes, its volumes node-var, node-opt
        and node-etc stay (never `down-v`, which removes them)."""
        folder = self.checkout(name)
        with ui.step("make down (the data volumes stay)"):
            self._make(folder, "down", timeout=300, ports=self._saved_ports(name, required=False))

    def start(self, name: str) -> None:
        """`make up` (`$(COMPOSE) up --build -d`): podman-compose creates the node again on the kept volumes, or
        starts the existing one (compose_up @0f6537e, v1.6.0); then wait for the node's containerd, as `up` does."""
        folder = self.checkout(name)
        with ui.step("make up"):
            self._make(folder, "up", ports=self._saved_ports(name))
        with ui.step("wait until the node's container runtime answers"):
            self.wait_for_node(folder)

    def _saved_ports(self, name: str, required: bool = True) -> Optional[Dict[str, str]]:
        saved = self.workdir(name) / "usernetes-ports"
        try:
            return {str(k): str(v) for k, v in json.loads(saved.read_text()).items()}
        except (OSError, ValueError, AttributeError):
            if not required:
                return None
            raise RootlesskubeError(f"rootlesskube did not keep the ports cluster {name!r} was created with ({saved})",
                                    hint=f"recreate it: `rootlesskube up --name {name} --recreate` with its switches") from None

    def node_states(self, name: str) -> Dict[str, str]:
        """podman-compose labels its containers io.podman.compose.project=PROJECT (the checkout's folder)."""
        return nodes.states(COMPOSE_PROJECT_LABEL, compose.project_name(self.checkout(name)))

    def exists(self, name: str) -> bool:
        return (self.checkout(name) / "kubeconfig").is_file()

    def status(self, name: str) -> ClusterStatus:
        if not self.exists(name):
            return ClusterStatus(name, self.name, exists=False)
        return ClusterStatus(name, self.name, exists=True, running=True, nodes=self.node_containers(name),
                             detail="no default StorageClass")

    def kubeconfig(self, name: str) -> str:
        path = self.checkout(name) / "kubeconfig"
        if not path.is_file():
            raise RootlesskubeError(f"Usernetes wrote no kubeconfig in {path.parent}",
                                    hint=f"run `make kubeconfig` in {path.parent}")
        return path.read_text()

    def node_containers(self, name: str) -> List[str]:
        return [compose.node_container(self.checkout(name))]

    def load_image(self, name: str, archive: Path) -> None:
        archive = Path(archive)
        if not archive.is_file():
            raise RootlesskubeError(f"the image archive {archive} does not exist",
                                    hint="write it with `podman save --format docker-archive -o FILE IMAGE`")
        node = self.node_containers(name)[0]
        podman = Podman()
        from ..image_progress import ReadProgress

        with ReadProgress(archive):  # `podman cp` prints nothing: the bar is how far it has read
            podman.call("cp", str(archive), f"{node}:/tmp/rootlesskube-image.tar", timeout=900)
        podman.call("exec", node, "ctr", "--namespace=k8s.io", "images", "import",
                    "/tmp/rootlesskube-image.tar", timeout=900)

    def held_images(self, name: str) -> Dict[str, Set[str]]:
        """The node's containerd, asked inside it as `make shell` enters it (`$(COMPOSE) exec node`)."""
        from ..images import held_on_every_node

        return held_on_every_node(self.node_containers(name))

    def collect_logs(self, name: str, dir: Path) -> List[Path]:
        node = self.node_containers(name)[0]
        result = Podman().call("logs", node, check=False, timeout=60)
        if result.returncode != 0:
            return []
        target = Path(dir) / f"{node}.log"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(result.stdout + result.stderr)
        return [target]

    def delete_command(self, name: str) -> List[str]:
        program = tools.binary("podman-compose")
        return ["env", "CONTAINER_ENGINE=podman", f"COMPOSE={which(program) or program}", "make", "-C",
                str(self.checkout(name)), "down-v"]


def split_host(host: str) -> Tuple[str, Optional[str]]:
    """"user@host:2222" -> ("user@host", "2222"); the port is optional."""
    target, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if port and not port.isdigit():
        raise UsageError(f"bad SSH port in {host!r}", hint="use user@host or user@host:port")
    if target.startswith("-") or not target:
        raise UsageError(f"bad SSH host {host!r}", hint="use user@host or user@host:port")
    return target, port or None

