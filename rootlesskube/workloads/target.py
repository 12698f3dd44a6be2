"""Which cluster a workload command talks to: a cluster rootlesskube created, or a kubeconfig.

Only a known cluster has a driver, so only it can load images into its nodes
and name the node containers for the host-side rootless proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .. import cluster
from ..drivers import get_driver
from ..drivers.base import Driver
from ..errors import RootlesskubeError, UsageError
from ..kube import Kubectl
from ..names import dns1123_label


@dataclass
class Target:
    kubectl: Kubectl
    cluster: Optional[str] = None
    driver: Optional[Driver] = None

    def describe(self) -> str:
        if self.cluster:
            return f"cluster {self.cluster!r} ({self.driver.name if self.driver else '?'})"
        return f"the cluster of kubeconfig {self.kubectl.kubeconfig}"


def resolve(cluster_name: Optional[str], kubeconfig: Optional[str]) -> Target:
    """--cluster NAME (a cluster this user's rootlesskube created) or --kubeconfig FILE; default: the
    cluster named `rootlesskube`."""
    if cluster_name and kubeconfig:
        raise UsageError("give either --cluster or --kubeconfig, not both")
    if kubeconfig:
        return Target(Kubectl(kubeconfig=kubeconfig))
    name = dns1123_label(cluster_name or cluster.DEFAULT_NAME, "cluster name")
    record = cluster.load_record(name)
    if record is None:
        raise RootlesskubeError(
            f"rootlesskube knows no cluster named {name!r}",
            hint="create it with `rootlesskube up`, pick one from `rootlesskube status` with --cluster NAME, "
                 "or give another cluster's --kubeconfig FILE")
    return Target(Kubectl(kubeconfig=record.kubeconfig), record.name, get_driver(record.driver))
