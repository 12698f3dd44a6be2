"""`kubectl wait --for=condition=Ready node/N | node --all [--timeout=Ns]` (contracts §5.3).

Nodes come from the object store (seeded by the kind/minikube/make stand-ins).
Nothing sleeps: a NotReady node is reported as the timeout kubectl prints.
"""

from __future__ import annotations

import standin_lib
from kube_objects import ObjectStore, not_found, resource


def ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in node.get("status", {}).get("conditions", []))


def handle(flags, args):
    condition = next((a.split("=", 1)[1] for a in args if a.startswith("--for=")), None)
    targets = [a for a in args if not a.startswith("-")]
    everything = "--all" in args
    if condition != "condition=Ready" or not targets:
        standin_lib.emit(stderr=f"kubectl stand-in: wait {' '.join(args)!r} is not reproduced\n", code=99)
    store = ObjectStore(standin_lib.state_dir())
    if everything:
        if resource(targets[0]).kind != "Node":
            standin_lib.emit(stderr="kubectl stand-in: wait --all is reproduced for nodes only\n", code=99)
        nodes = store.list("Node")
        if not nodes:
            standin_lib.emit(stderr=standin_lib.contract("kubectl/wait.no-matching.stderr.txt"), code=1)
    else:
        nodes = []
        for target in targets:
            kind, _, name = target.partition("/")
            node = store.get("Node", name) if resource(kind).kind == "Node" else None
            if node is None:
                standin_lib.emit(stderr=not_found(resource("Node"), name), code=1)
            nodes.append(node)
    out = ""
    for node in nodes:
        name = node["metadata"]["name"]
        if not ready(node):
            sample = standin_lib.contract("kubectl/wait.timeout.stderr.txt")
            standin_lib.emit(stdout=out, stderr=sample.replace("rk-dev-control-plane", name), code=1)
        out += standin_lib.contract("kubectl/wait.ok.stdout.txt").replace("rk-dev-control-plane", name)
    standin_lib.emit(stdout=out)
