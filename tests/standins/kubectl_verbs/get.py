"""`kubectl get KIND [NAME] -o json [-A|--all-namespaces]` and `kubectl get --raw PATH`.

Objects come from the store (kube_objects); `--raw` answers only paths a test
registered (kube_scenario.Scenario.raw, or raw_error for a non-2xx answer:
its stderr, exit 1). Only `-o json` is reproduced.
"""

from __future__ import annotations

import standin_lib
from kube_objects import ObjectStore, kubectl_json, list_of, not_found, resource
from kube_scenario import Scenario


def not_reproduced(what: str):
    standin_lib.emit(stderr=f"kubectl stand-in: {what} is not reproduced\n", code=99)


def handle(flags, args):
    state = standin_lib.state_dir()
    if args[:1] == ["--raw"] and len(args) == 2:
        error = Scenario(state).lookup("raw-error", args[1])
        if error is not None:
            standin_lib.emit(stderr=error, code=1)
        body = Scenario(state).lookup("raw", args[1])
        if body is None:
            not_reproduced(f"get --raw {args[1]} (no response registered by the test)")
        standin_lib.emit(stdout=body)
    positional, output, all_namespaces = [], None, False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-o", "--output") and i + 1 < len(args):
            output, i = args[i + 1], i + 2
            continue
        if arg.startswith("--output=") or (arg.startswith("-o") and len(arg) > 2):
            output = arg.split("=", 1)[1] if arg.startswith("--output=") else arg[2:]
        elif arg in ("-A", "--all-namespaces"):
            all_namespaces = True
        elif arg.startswith("-"):
            not_reproduced(f"get flag {arg!r}")
        else:
            positional.append(arg)
        i += 1
    if output != "json":
        not_reproduced(f"get output {output!r} (only -o json)")
    if len(positional) == 1 and "/" in positional[0]:
        positional = positional[0].split("/", 1)
    if not positional or len(positional) > 2:
        not_reproduced(f"get {' '.join(args)}")
    try:
        res = resource(positional[0])
    except KeyError:
        not_reproduced(f"resource type {positional[0]!r}")
    store = ObjectStore(state)
    namespace = None if all_namespaces else flags.get("namespace", "default")
    if len(positional) == 2:
        obj = store.get(res.kind, positional[1], namespace)
        if obj is None:
            standin_lib.emit(stderr=not_found(res, positional[1]), code=1)
        standin_lib.emit(stdout=kubectl_json(obj))
    standin_lib.emit(stdout=kubectl_json(list_of(store.list(res.kind, namespace))))
