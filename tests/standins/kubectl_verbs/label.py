"""`kubectl label [--overwrite] [--dry-run=server|client] KIND NAME KEY=VALUE|KEY- ...` (contracts §5.6).

stdout `<kind>/<name> labeled|unlabeled|modified|not labeled` (+ ` (server dry run)`);
an existing key without --overwrite is an error. A Namespace's server dry run
prints the warnings the test registered (Scenario.label_warnings): the
stand-in does not evaluate pods.
"""

from __future__ import annotations

import standin_lib
from kube_objects import ObjectStore, not_found, resource
from kube_scenario import Scenario

DRY_RUN_SUFFIX = {"server": " (server dry run)", "client": " (dry run)", None: ""}


def not_reproduced(what: str):
    standin_lib.emit(stderr=f"kubectl stand-in: {what} is not reproduced\n", code=99)


def change_message(old: dict, new: dict) -> str:
    """kubectl's updateDataChangeMsg."""
    unlabeled = any(k not in new for k in old)
    labeled = any(k in old and old[k] != v for k, v in new.items()) or any(k not in old for k in new)
    if labeled and unlabeled:
        return "modified"
    if labeled:
        return "labeled"
    return "unlabeled" if unlabeled else "not labeled"


def handle(flags, args):
    overwrite, dry_run, positional = False, None, []
    for arg in args:
        if arg == "--overwrite":
            overwrite = True
        elif arg.startswith("--dry-run="):
            dry_run = {"none": None}.get(arg.split("=", 1)[1], arg.split("=", 1)[1])
            if dry_run not in ("server", "client", None):
                not_reproduced(f"label {arg}")
        elif arg.startswith("-"):
            not_reproduced(f"label flag {arg!r}")
        else:
            positional.append(arg)
    if len(positional) >= 1 and "/" in positional[0]:
        positional = positional[0].split("/", 1) + positional[1:]
    if len(positional) < 3:
        not_reproduced(f"label {' '.join(args)}")
    try:
        res = resource(positional[0])
    except KeyError:
        not_reproduced(f"resource type {positional[0]!r}")
    name, specs = positional[1], positional[2:]
    set_labels, remove = {}, []
    for spec in specs:
        if "=" in spec:
            key, _, value = spec.partition("=")
            set_labels[key] = value
        elif spec.endswith("-"):
            remove.append(spec[:-1])
        else:
            standin_lib.emit(stderr=f"error: unknown label spec: {spec}\n", code=1)
    state = standin_lib.state_dir()
    store = ObjectStore(state)
    namespace = flags.get("namespace", "default")
    obj = store.get(res.kind, name, namespace)
    if obj is None:
        standin_lib.emit(stderr=not_found(res, name), code=1)
    old = dict(obj["metadata"].get("labels") or {})
    if not overwrite:
        for key, value in set_labels.items():
            if key in old and old[key] != value:
                standin_lib.emit(
                    stderr=f"error: '{key}' already has a value ({old[key]}), and --overwrite is false\n", code=1)
    out = "".join(f'label "{key}" not found.\n' for key in remove if key not in old and dry_run != "client")
    new = {**old, **set_labels}
    for key in remove:
        new.pop(key, None)
    warnings = ""
    if dry_run == "server" and res.kind == "Namespace":
        warnings = Scenario(state).lookup("label-warnings", name) or ""
    if dry_run is None:
        obj["metadata"]["labels"] = new
        store.put(obj)
    out += f"{res.qualified_kind}/{name} {change_message(old, new)}{DRY_RUN_SUFFIX[dry_run]}\n"
    standin_lib.emit(stdout=out, stderr=warnings)
