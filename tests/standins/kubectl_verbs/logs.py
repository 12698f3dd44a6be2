"""`kubectl logs POD [-c C] [--tail=N] [--previous]`: the container's output, as the test registered it.

Scenario.logs(pod, namespace, text) sets what the container printed, and
Scenario.logs(..., previous=True) what the container before it printed; `--tail`
keeps the last N lines as kubectl does. A missing pod is kubectl's NotFound
error; a pod with nothing registered printed nothing. `--previous` for a container
without a terminated predecessor (no lastState.terminated in the pod's status) is
the kubelet's error (validateContainerLogStatus in kubernetes/kubernetes
pkg/kubelet/kubelet_pods.go @ 001a80e9), which the API server returns as 400.
"""

from __future__ import annotations

from pathlib import Path

import standin_lib
from kube_objects import ObjectStore, not_found, resource
from kube_scenario import Scenario, object_key

LOCAL_CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"  # tests/contracts: samples this repo adds


def handle(flags, args):
    tail, positional, i, container, previous = None, [], 0, None, False
    while i < len(args):
        arg = args[i]
        if arg in ("-c", "--container") and i + 1 < len(args):
            container = args[i + 1]
            i += 2
            continue
        if arg.startswith("--tail="):
            tail = int(arg.split("=", 1)[1])
        elif arg in ("-p", "--previous"):
            previous = True
        elif arg.startswith("-"):
            standin_lib.emit(stderr=f"kubectl stand-in: logs flag {arg!r} is not reproduced\n", code=99)
        else:
            positional.append(arg)
        i += 1
    if len(positional) != 1:
        standin_lib.emit(stderr=f"kubectl stand-in: logs {' '.join(args)} is not reproduced\n", code=99)
    pod, namespace = positional[0].split("/")[-1], flags.get("namespace", "default")
    state = standin_lib.state_dir()
    obj = ObjectStore(state).get("Pod", pod, namespace)
    if obj is None:
        standin_lib.emit(stderr=not_found(resource("Pod"), pod), code=1)
    if previous:
        statuses = (obj.get("status") or {}).get("containerStatuses") or []
        status = next((c for c in statuses if c.get("name") == container), statuses[0] if statuses else {})
        if not (status.get("lastState") or {}).get("terminated"):
            name = container or status.get("name", "")
            text = (LOCAL_CONTRACTS / "kubectl" / "logs.previous-not-found.stderr.txt").read_text()
            standin_lib.emit(stderr=text.replace('"web-0"', f'"{pod}"').replace('"web"', f'"{name}"'), code=1)
    section = "logs-previous" if previous else "logs"
    text = Scenario(state).lookup(section, object_key("Pod", pod, namespace)) or ""
    lines = text.splitlines(keepends=True)
    if tail is not None and tail >= 0:
        lines = lines[len(lines) - tail:] if tail else []
    standin_lib.emit(stdout="".join(lines))
