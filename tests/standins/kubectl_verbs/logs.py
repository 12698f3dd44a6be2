"""`kubectl logs POD [-c C] [--tail=N] [--previous]`: the container's output, as the test registered it.

Scenario.logs(pod, namespace, text) sets what the container printed; `--tail`
keeps the last N lines as kubectl does. A missing pod is kubectl's NotFound
error; a pod with nothing registered printed nothing.
"""

from __future__ import annotations

import standin_lib
from kube_objects import ObjectStore, not_found, resource
from kube_scenario import Scenario, object_key


def handle(flags, args):
    tail, positional, i = None, [], 0
    while i < len(args):
        arg = args[i]
        if arg in ("-c", "--container") and i + 1 < len(args):
            i += 2
            continue
        if arg.startswith("--tail="):
            tail = int(arg.split("=", 1)[1])
        elif arg in ("-p", "--previous"):
            pass
        elif arg.startswith("-"):
            standin_lib.emit(stderr=f"kubectl stand-in: logs flag {arg!r} is not reproduced\n", code=99)
        else:
            positional.append(arg)
        i += 1
    if len(positional) != 1:
        standin_lib.emit(stderr=f"kubectl stand-in: logs {' '.join(args)} is not reproduced\n", code=99)
    pod, namespace = positional[0].split("/")[-1], flags.get("namespace", "default")
    state = standin_lib.state_dir()
    if ObjectStore(state).get("Pod", pod, namespace) is None:
        standin_lib.emit(stderr=not_found(resource("Pod"), pod), code=1)
    text = Scenario(state).lookup("logs", object_key("Pod", pod, namespace)) or ""
    lines = text.splitlines(keepends=True)
    if tail is not None and tail >= 0:
        lines = lines[len(lines) - tail:] if tail else []
    standin_lib.emit(stdout="".join(lines))
