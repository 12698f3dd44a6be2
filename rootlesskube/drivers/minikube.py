"""minikube with the podman driver in rootless mode (contracts §2).

Rootless is asked for explicitly (`--rootless`): without it minikube runs
`sudo -n podman`. One profile per cluster. minikube merges its kubeconfig
into $KUBECONFIG, so every call points KUBECONFIG at our private file and the
user's ~/.kube/config is never touched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from .. import paths, tools
from ..errors import RootlesskubeError, UsageError
from ..run import CommandError, Result, pretty, run
from . import nodes
from .base import USERNETES_ONLY, ClusterSpec, ClusterStatus, CreateResult, Driver

PROFILE_NOT_FOUND = 85
CREATED_BY_LABEL = "created_by.minikube.sigs.k8s.io"
STATUS_HOST, STATUS_KUBELET, STATUS_KUBECONFIG = 1, 2, 4
RUNTIMES = {"containerd": "containerd"}
# minikube v1.38.1's supported range (pkg/minikube/constants/constants.go @c93a4cb): a newer version makes
# `minikube start` search GitHub's version list (cmd/minikube/cmd/start.go), which fails offline
OLDEST_KUBERNETES, NEWEST_KUBERNETES = "v1.28.0", "v1.35.1"
RUNTIME_WHY = ("minikube documents containerd for rootless Podman (site/content/en/docs/drivers/includes/"
               "podman_usage.inc: \"For Rootless Podman, it is recommended to set --container-runtime to containerd\")")


def _version(text: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in text.lstrip("v").split("-")[0].split("."))


# reason ID -> (our message, hint); contracts §2.10
REASONS = {
    "PROVIDER_PODMAN_NOT_FOUND": ("minikube did not find podman", "install Podman (Debian/Ubuntu: apt-get install podman)"),
    "PROVIDER_PODMAN_NOT_RUNNING": ("minikube could not use podman",
                                    "check that `podman info` works as this user; rootlesskube always passes --rootless"),
    "MK_USAGE": ("minikube rejected the request",
                 "if Podman runs as root, run rootlesskube as an unprivileged user with rootless Podman"),
    "DRV_AS_ROOT": ("minikube refuses the podman driver as root", "run rootlesskube as an unprivileged user"),
    "HOST_CPU_DELEGATION": ("the cpu cgroup controller is not delegated to you",
                            "add a user@.service drop-in with Delegate=cpu cpuset io memory pids (see `rootlesskube doctor`)"),
    "RUNTIME_ENABLE": ("minikube could not set up the container runtime",
                       "rootless containerd and CRI-O need kernel 5.11 or newer"),
    "GUEST_DRIVER_MISMATCH": ("a minikube profile with that name exists with another driver",
                              "pick another --name, or delete the profile with `minikube delete -p NAME`"),
}


def exiting_reason(stderr: str) -> Tuple[str, str]:
    """(reason ID, its message) from minikube's `Exiting due to ID: message` line."""
    for line in stderr.splitlines():
        _, found, rest = line.partition("Exiting due to ")
        if found:
            reason, _, message = rest.partition(": ")
            return reason.strip(), message.strip()
    return "", ""


def parse_status(text: str) -> List[dict]:
    """`status -o json`: a bare object (one node), an array (several) or null (container gone)."""
    data = json.loads(text) if text.strip() else None
    if data is None:
        return []
    return data if isinstance(data, list) else [data]


class MinikubeDriver(Driver):
    name = "minikube"
    unsupported = {
        "node_image": "it is a kind node image",
        "pss_default": "rootlesskube knows no tested way to give minikube's API server an admission "
                       "configuration file; label the namespaces instead (`rootlesskube ns`)",
        "api_port": "minikube's --apiserver-port is the port inside the node; its podman driver always publishes "
                    "it on a random host port (--publish=127.0.0.1::PORT, pkg/drivers/kic/oci/oci.go)",
        **USERNETES_ONLY,
    }

    def check_spec(self, spec: ClusterSpec) -> None:
        """What minikube itself would refuse, or could not do offline, refused before anything runs (exit 2)."""
        super().check_spec(spec)
        if len(spec.name) < 2:
            # config.ProfileNameValid (pkg/minikube/config/profile.go): "length needs to be more than 1 character"
            raise UsageError(f"minikube rejects the one-character profile name {spec.name!r}",
                             hint="use a --name of 2 characters or more")
        if spec.container_runtime not in RUNTIMES:
            raise UsageError(f"the minikube driver runs rootless Podman with containerd, not {spec.container_runtime}: "
                             + RUNTIME_WHY, hint="leave --container-runtime out (containerd)")
        if spec.kubernetes is not None:
            try:
                wanted = _version(spec.kubernetes)
            except ValueError:
                raise UsageError(f"Kubernetes version {spec.kubernetes!r} must look like v1.35.1") from None
            if not _version(OLDEST_KUBERNETES) <= wanted <= _version(NEWEST_KUBERNETES):
                raise UsageError(
                    f"minikube v1.38.1 supports Kubernetes {OLDEST_KUBERNETES} to {NEWEST_KUBERNETES}, not {spec.kubernetes}"
                    " (a newer one makes minikube look it up on GitHub, which fails offline)",
                    hint=f"use --kubernetes {NEWEST_KUBERNETES} (the newest it supports), or leave it out")

    def _env(self, cluster: str) -> dict:
        return {"KUBECONFIG": str(self.kubeconfig_target(cluster)), "MINIKUBE_WANTUPDATENOTIFICATION": "false"}

    def _minikube(self, cluster: str, *args: str, timeout: Optional[float] = None, check: bool = True) -> Result:
        return run([tools.binary("minikube"), *args, "-p", cluster, "--rootless"], env=self._env(cluster),
                   timeout=timeout or self.query_timeout, check=check,
                   not_found_hint=tools.not_found_hint("minikube"))

    def create(self, spec: ClusterSpec) -> CreateResult:
        args = ["start", "--driver=podman", f"--container-runtime={RUNTIMES[spec.container_runtime]}",
                "--interactive=false"]
        if spec.kubernetes:
            args.append(f"--kubernetes-version={spec.kubernetes}")
        if spec.workers:
            args.append(f"--nodes={spec.workers + 1}")
        for mapping in spec.port_mappings:
            # minikube hands --ports to `podman run -p` (registry/drvs/podman/podman.go); without /udp it is TCP
            protocol = "" if mapping.protocol.upper() == "TCP" else f"/{mapping.protocol.lower()}"
            args.append(f"--ports={mapping.listen_address}:{mapping.host_port}:{mapping.container_port}{protocol}")
        # minikube creates the kubeconfig itself; make sure it is born private
        paths.write_private(self.kubeconfig_target(spec.name), "")
        result = self._minikube(spec.name, *args, timeout=self.create_timeout, check=False)
        if result.returncode != 0:
            raise self._error(f"minikube could not start cluster {spec.name!r}", result)
        return CreateResult(ready=True)

    def _error(self, what: str, result: Result) -> RootlesskubeError:
        reason, message = exiting_reason(result.stderr)
        if reason in REASONS:
            ours, hint = REASONS[reason]
            return RootlesskubeError(f"{what}: {ours} ({reason}, exit {result.returncode}: {message})", hint=hint)
        return CommandError(result.argv, result.returncode, result.stdout, result.stderr,
                            hint="see the collected logs; `rootlesskube doctor` checks the host")

    def delete(self, name: str) -> None:
        result = self._minikube(name, "delete", timeout=300, check=False)
        if result.returncode != 0:
            raise self._error(f"minikube could not delete cluster {name!r}", result)

    def stop(self, name: str) -> None:
        """`minikube stop -p NAME --rootless`: stops the nodes, last first (cmd/minikube/cmd/stop.go @c93a4cb), and
        removes the profile's context from $KUBECONFIG, our private file; `start` writes it back."""
        result = self._minikube(name, "stop", timeout=300, check=False)
        if result.returncode != 0:
            raise self._error(f"minikube could not stop cluster {name!r}", result)

    def start(self, name: str) -> None:
        """`minikube start -p NAME --rootless` on the existing profile: `podman start` of its nodes
        (pkg/drivers/kic/kic.go Start @c93a4cb), then minikube waits for them and rewrites the kubeconfig."""
        result = self._minikube(name, "start", "--interactive=false", timeout=self.create_timeout, check=False)
        if result.returncode != 0:
            raise self._error(f"minikube could not start cluster {name!r}", result)

    def node_states(self, name: str) -> Dict[str, str]:
        """minikube names its nodes PROFILE, PROFILE-m02, ... and labels them created_by.minikube.sigs.k8s.io=true
        (pkg/drivers/kic/oci/oci.go, types.go @c93a4cb)."""
        return nodes.states(CREATED_BY_LABEL, "true", names=re.escape(name) + r"(-m[0-9]{2,})?")

    def _status(self, name: str) -> Tuple[int, List[dict]]:
        result = self._minikube(name, "status", "-o", "json", check=False)
        if result.returncode == PROFILE_NOT_FOUND:
            return result.returncode, []
        try:
            return result.returncode, parse_status(result.stdout)
        except json.JSONDecodeError:
            raise CommandError(result.argv, result.returncode, result.stdout, result.stderr) from None

    def exists(self, name: str) -> bool:
        return self._status(name)[0] != PROFILE_NOT_FOUND

    def status(self, name: str) -> ClusterStatus:
        code, nodes = self._status(name)
        if code == PROFILE_NOT_FOUND:
            return ClusterStatus(name, self.name, exists=False)
        problems = [text for bit, text in ((STATUS_HOST, "host not running"),
                                           (STATUS_KUBELET, "kubelet or API server not running"),
                                           (STATUS_KUBECONFIG, "kubeconfig misconfigured")) if code & bit]
        return ClusterStatus(name, self.name, exists=True, running=code == 0 and bool(nodes),
                             nodes=[n["Name"] for n in nodes], detail=", ".join(problems))

    def kubeconfig(self, name: str) -> str:
        target = self.kubeconfig_target(name)
        text = target.read_text() if target.is_file() else ""
        if not text.strip():
            raise RootlesskubeError(f"minikube wrote no kubeconfig for cluster {name!r} to {target}",
                                    hint=f"run `{pretty(self._by_hand(name, 'update-context'))}`")
        return text

    def load_image(self, name: str, archive: Path) -> None:
        archive = Path(archive).resolve()
        if not archive.is_file():
            raise RootlesskubeError(f"the image archive {archive} does not exist",
                                    hint="write it with `podman save --format docker-archive -o FILE IMAGE`")
        # an absolute path makes minikube read the tarball, not the docker daemon (contracts §2.8)
        from ..image_progress import ReadProgress

        with ReadProgress(archive):  # minikube prints nothing while it loads: the bar is how far it has read
            result = self._minikube(name, "image", "load", str(archive), timeout=900, check=False)
        if result.returncode != 0:
            raise self._error(f"minikube could not load {archive}", result)

    def held_images(self, name: str) -> Dict[str, Set[str]]:
        """Per node (minikube's own `image ls` merges the nodes' lists): crictl in each node container."""
        from ..images import held_on_every_node

        return held_on_every_node(self.node_containers(name))

    def node_containers(self, name: str) -> List[str]:
        return self.status(name).nodes

    def collect_logs(self, name: str, dir: Path) -> List[Path]:
        target = Path(dir) / "minikube-logs.txt"
        Path(dir).mkdir(parents=True, exist_ok=True)
        result = self._minikube(name, "logs", f"--file={target}", timeout=300, check=False)
        return [target] if result.returncode == 0 and target.exists() else []

    def _by_hand(self, name: str, *args: str) -> List[str]:
        """A minikube command as a person runs it: rootless (else `sudo -n podman`) and our private kubeconfig."""
        return ["env", f"KUBECONFIG={self.kubeconfig_target(name)}", tools.binary("minikube"), *args, "-p", name,
                "--rootless"]

    def delete_command(self, name: str) -> List[str]:
        return self._by_hand(name, "delete")
