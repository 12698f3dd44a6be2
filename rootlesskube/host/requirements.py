"""What each driver needs from the host: kernel modules, cgroup controllers, tools, resources.

`required` items fail the doctor when missing; `recommended` ones warn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

# PMM 3, the default workload, recommends 2+ CPUs and 4+ GB of memory.
PMM_CPUS = 2
PMM_MEMORY_GB = 4.0
RECOMMENDED_DISK_GB = 20.0


@dataclass(frozen=True)
class Requirements:
    driver: str
    modules: Tuple[str, ...]
    recommended_modules: Tuple[str, ...]
    controllers: Tuple[str, ...]
    recommended_controllers: Tuple[str, ...]
    tools: Tuple[str, ...]
    recommended_tools: Tuple[str, ...]
    min_kernel: Tuple[int, int]  # below it the driver refuses rootless mode
    kernel_for_overlay: Tuple[int, int]  # below it rootless overlayfs is unavailable
    needs_fuse: bool  # kind always passes --device /dev/fuse to rootless Podman
    needs_slirp4netns: bool  # Usernetes' flannel breaks with pasta
    min_cpus: int
    min_memory_gb: float
    min_disk_gb: float


_IPTABLES = ("ip_tables", "ip6_tables", "iptable_nat", "ip6table_nat")

REQUIREMENTS: Dict[str, Requirements] = {
    "kind": Requirements(
        driver="kind",
        modules=_IPTABLES,
        recommended_modules=("br_netfilter", "overlay", "nf_tables"),
        controllers=("cpu", "memory", "pids"),
        recommended_controllers=("cpuset", "io"),
        tools=("kind", "kubectl"),
        recommended_tools=(),
        min_kernel=(0, 0),
        kernel_for_overlay=(5, 11),
        needs_fuse=True,
        needs_slirp4netns=False,
        min_cpus=1,
        min_memory_gb=2.0,
        min_disk_gb=5.0,
    ),
    "minikube": Requirements(
        driver="minikube",
        modules=_IPTABLES,
        recommended_modules=("br_netfilter", "overlay", "nf_tables"),
        controllers=("cpu", "memory", "pids"),
        recommended_controllers=("cpuset", "io"),
        tools=("minikube", "kubectl"),
        recommended_tools=(),
        min_kernel=(5, 11),
        kernel_for_overlay=(5, 11),
        needs_fuse=False,
        needs_slirp4netns=False,
        min_cpus=2,
        min_memory_gb=1.8,
        min_disk_gb=5.0,
    ),
    "usernetes": Requirements(
        driver="usernetes",
        modules=("br_netfilter", *_IPTABLES),
        recommended_modules=("vxlan", "overlay", "nf_tables"),  # vxlan: multi-node only
        controllers=("cpu", "cpuset", "io", "memory", "pids"),
        recommended_controllers=(),
        tools=("make", "jq", "podman-compose", "kubectl"),
        recommended_tools=(),
        min_kernel=(0, 0),
        kernel_for_overlay=(5, 11),
        needs_fuse=False,
        needs_slirp4netns=True,
        min_cpus=2,  # kubeadm's preflight is not ignored in Usernetes
        min_memory_gb=1.7,
        min_disk_gb=5.0,
    ),
}


def for_driver(driver: str) -> Requirements:
    return REQUIREMENTS[driver]
