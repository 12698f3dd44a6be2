"""`kubectl delete KIND NAME [--ignore-not-found]`: removes the object from the store.

A missing object is `Error from server (NotFound): ...`, exit 1 (contracts §5.3
format). The success line on stdout is not in ../shared/contracts/, so this
stand-in prints none: callers must not parse `delete` output.
"""

from __future__ import annotations

import standin_lib
from kube_objects import ObjectStore, not_found, resource


def handle(flags, args):
    ignore_not_found = False
    positional = []
    for arg in args:
        if arg in ("--ignore-not-found", "--ignore-not-found=true"):
            ignore_not_found = True
        elif arg.startswith("--wait=") or arg.startswith("--timeout="):
            pass
        elif arg.startswith("-"):
            standin_lib.emit(stderr=f"kubectl stand-in: delete flag {arg!r} is not reproduced\n", code=99)
        else:
            positional.append(arg)
    if len(positional) == 1 and "/" in positional[0]:
        positional = positional[0].split("/", 1)
    if len(positional) != 2:
        standin_lib.emit(stderr=f"kubectl stand-in: delete {' '.join(args)} is not reproduced\n", code=99)
    try:
        res = resource(positional[0])
    except KeyError:
        standin_lib.emit(stderr=f"kubectl stand-in: resource type {positional[0]!r} is not reproduced\n", code=99)
    deleted = ObjectStore(standin_lib.state_dir()).delete(res.kind, positional[1], flags.get("namespace", "default"))
    if not deleted and not ignore_not_found:
        standin_lib.emit(stderr=not_found(res, positional[1]), code=1)
    standin_lib.emit()
