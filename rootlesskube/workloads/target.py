"""Which cluster a workload command talks to: a cluster rootlesskube created, or a kubeconfig.

Only a known cluster has a driver, so only it can load images into its nodes
and name the node containers for the host-side rootless proof.
"""

from __future__ import annotations

import os
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
    record = _known(cluster_name or cluster.DEFAULT_NAME)
    return Target(Kubectl(kubeconfig=record.kubeconfig), record.name, get_driver(record.driver))


def record_in_use(cluster_name: Optional[str], kubeconfig: Optional[str]) -> Optional[cluster.ClusterRecord]:
    """The record of the cluster a command talks to: --cluster NAME (an error when rootlesskube knows
    none), or the one whose kubeconfig is the given file (--kubeconfig, or a single-file $KUBECONFIG);
    None for any other cluster."""
    if cluster_name:
        return _known(cluster_name)
    if kubeconfig and os.pathsep not in kubeconfig:
        wanted = os.path.realpath(kubeconfig)
        return next((r for r in cluster.known_clusters() if os.path.realpath(r.kubeconfig) == wanted), None)
    return None


def _known(cluster_name: str) -> cluster.ClusterRecord:
    name = dns1123_label(cluster_name, "cluster name")
    record = cluster.load_record(name)
    if record is None:
        raise RootlesskubeError(
            f"rootlesskube knows no cluster named {name!r}",
            hint="create it with `rootlesskube up`, pick one from `rootlesskube status` with --cluster NAME, "
                 "or give another cluster's --kubeconfig FILE")
    return record
