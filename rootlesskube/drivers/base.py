"""The one protocol every cluster driver implements, and the spec it builds from.

A driver turns a ClusterSpec into calls of one tool (kind, minikube, make for
Usernetes) through rootlesskube.run, and turns the tool's output back into
ClusterStatus and our own errors. It keeps no state of its own: what this
user's tool created is remembered by rootlesskube.cluster.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .. import paths
from ..errors import RootlesskubeError, UsageError
from ..names import dns1123_label
from . import get_driver

PSS_LEVELS = ("privileged", "baseline", "restricted")
CONTAINER_RUNTIMES = ("containerd", "cri-o")
USERNETES_PORTS = ("PORT_ETCD", "PORT_KUBELET", "PORT_FLANNEL")  # the API server's is api_port
DIGEST_PATTERN = "@sha256:[0-9a-f]{64}$"  # a node image pinned by its full digest
CREATE_TIMEOUT = 900.0
QUERY_TIMEOUT = 60.0


class ClusterExists(RootlesskubeError):
    """The tool refused to create a cluster because one with that name exists."""


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int
    listen_address: str = "127.0.0.1"
    protocol: str = "TCP"


@dataclass(frozen=True)
class ClusterSpec:
    """What to create. Two specs with the same digest() describe the same cluster."""

    name: str
    driver: str = "kind"
    kubernetes: Optional[str] = None  # "v1.36.1"; None = the tool's default
    node_image: Optional[str] = None  # kind: "kindest/node:vX@sha256:..." (must be digest-pinned)
    api_port: int = 0  # 0 = the tool picks (kind: random; Usernetes: 6443)
    port_mappings: Tuple[PortMapping, ...] = ()
    pss_default: Optional[str] = None  # cluster-wide PodSecurity enforce level (kind)
    workers: int = 0
    container_runtime: str = "containerd"  # minikube: containerd | cri-o
    usernetes_dir: Optional[str] = None  # a Usernetes checkout; None = the pinned one in the data dir
    usernetes_ports: Tuple[Tuple[str, int], ...] = ()  # ("PORT_ETCD", 12379), ...: the Makefile's PORT_*
    join_hosts: Tuple[str, ...] = ()  # Usernetes: extra hosts joined over SSH ("user@host[:port]")
    join_usernetes_dir: Optional[str] = None  # their checkout; None = the same path as here
    ssh_config: Optional[str] = None  # an ssh_config for the joins (ssh -F): identity, known hosts, ...

    def validate(self) -> "ClusterSpec":
        dns1123_label(self.name, "cluster name")
        if self.pss_default is not None and self.pss_default not in PSS_LEVELS:
            raise UsageError(f"unknown PodSecurity level {self.pss_default!r}",
                             hint=f"use one of: {', '.join(PSS_LEVELS)}")
        if self.container_runtime not in CONTAINER_RUNTIMES:
            raise UsageError(f"unknown container runtime {self.container_runtime!r}",
                             hint=f"use one of: {', '.join(CONTAINER_RUNTIMES)}")
        if self.node_image is not None and not re.search(DIGEST_PATTERN, self.node_image):
            raise UsageError(f"the node image {self.node_image!r} is not pinned by a full digest "
                             "(@sha256: and 64 hex digits)",
                             hint="give it as NAME:TAG@sha256:DIGEST (kind's release notes list them)")
        if self.kubernetes is not None and not self.kubernetes.startswith("v"):
            raise UsageError(f"Kubernetes version {self.kubernetes!r} must look like v1.36.1")
        if not 0 <= self.api_port <= 65535 or self.workers < 0:
            raise UsageError("the API port must be 0-65535 and workers must not be negative")
        if self.ssh_config is not None and not Path(self.ssh_config).is_file():
            raise UsageError(f"the SSH config {self.ssh_config} does not exist",
                             hint="give an ssh_config file (see `man ssh_config`) or leave --ssh-config out")
        for key, port in self.usernetes_ports:
            if key not in USERNETES_PORTS or not 1 <= int(port) <= 65535:
                raise UsageError(f"bad Usernetes port {key}={port}",
                                 hint=f"the Makefile's port variables are {', '.join(USERNETES_PORTS)} (1-65535); "
                                      "the API server's port is --api-port")
        get_driver(self.driver).check_spec(self)  # what each switch means for this driver is the driver's rule
        return self

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ClusterSpec":
        data = dict(data)
        data["port_mappings"] = tuple(PortMapping(**m) for m in data.get("port_mappings", ()))
        data["usernetes_ports"] = tuple(tuple(p) for p in data.get("usernetes_ports", ()))
        data["join_hosts"] = tuple(data.get("join_hosts", ()))
        return cls(**data)

    def digest(self) -> str:
        canonical = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


# The `up` switch (or recipe key) of each ClusterSpec field, for messages.
SWITCHES = {
    "kubernetes": "--kubernetes", "node_image": "--node-image", "pss_default": "--pss-default",
    "workers": "--workers", "port_mappings": "port mappings", "container_runtime": "--container-runtime",
    "usernetes_dir": "--usernetes-dir", "api_port": "--api-port", "usernetes_ports": "--port-etcd/--port-kubelet/--port-flannel",
}

# What a field means only for the usernetes driver; the others refuse it (their `unsupported`).
USERNETES_ONLY = {
    "usernetes_dir": "it is for the usernetes driver",
    "usernetes_ports": "they are for the usernetes driver",
}


@dataclass
class CreateResult:
    """ready=False when the tool itself reported that its wait for Ready timed out."""

    ready: bool = True
    warnings: List[str] = field(default_factory=list)


@dataclass
class ClusterStatus:
    """What the tool says about a cluster; Ready per node comes from the API server."""

    name: str
    driver: str
    exists: bool
    running: bool = False
    nodes: List[str] = field(default_factory=list)
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class Driver:
    """Base of kind, minikube and Usernetes drivers; subclasses implement every method."""

    name = ""
    create_timeout = CREATE_TIMEOUT
    query_timeout = QUERY_TIMEOUT
    has_default_storage_class = True
    joins_hosts = False  # --join: more hosts over SSH
    stop_removes_containers = False  # True: a stopped cluster has no node container (its data lives in volumes)
    # ClusterSpec field -> why this driver's tool cannot honour it (refused, never ignored)
    unsupported: Dict[str, str] = {}

    def check_spec(self, spec: ClusterSpec) -> None:
        """Refuse (exit 2, before anything runs) what this driver's tool would ignore or reject."""
        if spec.join_hosts and not self.joins_hosts:
            raise UsageError(f"--join is for the usernetes driver, not {self.name}",
                             hint="use --driver usernetes, or --workers for more nodes on this host")
        defaults = ClusterSpec(spec.name)
        for field_name, why in self.unsupported.items():
            if getattr(spec, field_name) != getattr(defaults, field_name):
                switch = SWITCHES.get(field_name, field_name)
                raise UsageError(f"the {self.name} driver cannot honour {switch}: {why}",
                                 hint=f"leave {switch} out, or use a driver that supports it")

    def workdir(self, cluster: str) -> Path:
        """Private folder for this cluster's generated files (configs, kubeconfig)."""
        return paths.private_dir(paths.state_dir() / "clusters" / dns1123_label(cluster, "cluster name"))

    def kubeconfig_target(self, cluster: str) -> Path:
        return self.workdir(cluster) / "kubeconfig"

    def preflight(self, spec: ClusterSpec) -> None:
        """What the driver can refuse before anything is recorded or created (no change on the host)."""

    def create(self, spec: ClusterSpec) -> CreateResult:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError

    def stop(self, name: str) -> None:
        """Stop the cluster's nodes as its tool supports it, keeping their data (started again by `start`)."""
        raise NotImplementedError

    def start(self, name: str) -> None:
        """Start a stopped cluster's nodes again (the caller waits for Ready and re-reads the kubeconfig)."""
        raise NotImplementedError

    def node_states(self, name: str) -> Dict[str, str]:
        """Node container name -> Podman's state ("running", "exited", "created", ...); {} when none exists."""
        raise NotImplementedError

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def status(self, name: str) -> ClusterStatus:
        raise NotImplementedError

    def kubeconfig(self, name: str) -> str:
        raise NotImplementedError

    def load_image(self, name: str, archive: Path) -> None:
        raise NotImplementedError

    def node_containers(self, name: str) -> List[str]:
        raise NotImplementedError

    def collect_logs(self, name: str, dir: Path) -> List[Path]:
        raise NotImplementedError

    def delete_command(self, name: str) -> List[str]:
        """The exact argv that removes the cluster by hand (printed when we keep it)."""
        raise NotImplementedError
