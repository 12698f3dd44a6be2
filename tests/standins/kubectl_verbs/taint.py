"""`kubectl taint nodes (--all | NAME) KEY[:EFFECT]-`: removing a taint (contracts/usernetes §3.2).

stdout `node/<name> untainted` per Node, the line make-kubeadm-init.stdout.txt
shows kubectl printing for a removed taint. The stand-in keeps no taints, so
adding one is not reproduced.
"""

from __future__ import annotations

import standin_lib
from cluster_standin import substituted
from kube_objects import ObjectStore, not_found, resource

SAMPLE_NODE = "u7s-devbox"


def handle(flags, args):
    if len(args) != 3 or args[0] not in ("nodes", "node", "no") or not args[2].endswith("-"):
        standin_lib.emit(stderr=f"kubectl stand-in: taint {' '.join(args)!r} is not reproduced\n", code=99)
    store = ObjectStore(standin_lib.state_dir())
    nodes = [n["metadata"]["name"] for n in store.list("Node")]
    if args[1] != "--all":
        if args[1] not in nodes:
            standin_lib.emit(stderr=not_found(resource("nodes"), args[1]), code=1)
        nodes = [args[1]]
    sample = next(line for line in substituted("usernetes/make-kubeadm-init.stdout.txt", {}).splitlines(True)
                  if line.startswith(f"node/{SAMPLE_NODE} untainted"))
    standin_lib.emit(stdout="".join(sample.replace(SAMPLE_NODE, name) for name in nodes))
