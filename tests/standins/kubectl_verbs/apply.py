"""`kubectl apply -f - [--server-side] [--dry-run=server|client]` (contracts §5.4).

One stdout line per object, `<kind>[.<group>]/<name> created|configured|unchanged`
(or `serverside-applied`), with ` (server dry run)` / ` (dry run)` appended.
Admission is the test's call: an object with a registered rejection is not
stored and its registered stderr is printed after the other objects (exit 1);
a registered warning is printed on stderr and the object stored.

A created object gets a metadata.uid and creationTimestamp, as the API server
gives it; an Event registered with `event_on_apply` is then stored naming it.
Client-side apply is approximated: labels and annotations merge with what the
object has (keys recorded in the last-applied-configuration annotation and now
absent are removed); every other top-level field is replaced, `status` kept.
"""

from __future__ import annotations

import copy
import json
import sys
import time
import uuid

import standin_lib
import yaml
from kube_objects import ObjectStore, resource
from kube_scenario import Scenario, object_key

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DRY_RUN_SUFFIX = {"server": " (server dry run)", "client": " (dry run)", None: ""}


def not_reproduced(what: str):
    standin_lib.emit(stderr=f"kubectl stand-in: {what} is not reproduced\n", code=99)


def parse(args):
    server_side, dry_run, source = False, None, None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-f", "--filename") and i + 1 < len(args):
            source, i = args[i + 1], i + 2
            continue
        if arg == "--server-side":
            server_side = True
        elif arg.startswith("--dry-run="):
            dry_run = arg.split("=", 1)[1]
            if dry_run not in ("server", "client", "none"):
                standin_lib.emit(
                    stderr=f'error: Invalid dry-run value ({dry_run}). Must be "none", "server", or "client".\n',
                    code=1)
            dry_run = None if dry_run == "none" else dry_run
        elif arg.startswith("--force-conflicts") or arg.startswith("--field-manager="):
            pass
        else:
            not_reproduced(f"apply argument {arg!r}")
        i += 1
    if source != "-":
        not_reproduced("apply without `-f -`")
    return server_side, dry_run


def documents(text):
    try:
        docs = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError:
        not_reproduced("apply of malformed YAML")
    for doc in docs:
        if doc.get("kind") == "List":
            yield from doc.get("items") or []
        else:
            yield doc


def _merged_map(existing: dict, given: dict, previous: dict, field: str) -> dict:
    result = dict(existing.get(field) or {})
    for key in previous.get(field) or {}:
        if key not in (given.get(field) or {}):
            result.pop(key, None)
    result.update(given.get(field) or {})
    return result


def applied(existing, given, res, server_side):
    """The object as stored after applying `given` over `existing` (None when new)."""
    existing = existing or {}
    result = copy.deepcopy(given)
    meta = result["metadata"]
    previous = {}
    if existing:
        previous = json.loads((existing["metadata"].get("annotations") or {}).get(LAST_APPLIED, "{}")).get(
            "metadata", {})
        if "status" in existing and "status" not in result:
            result["status"] = existing["status"]
    meta_existing = existing.get("metadata", {})
    for field in ("labels", "annotations"):
        merged = _merged_map(meta_existing, meta, previous, field)
        if merged:
            meta[field] = merged
    for key, value in meta_existing.items():
        meta.setdefault(key, value)
    if res.kind == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    if not server_side:
        meta.setdefault("annotations", {})[LAST_APPLIED] = json.dumps(
            given, sort_keys=True, separators=(",", ":")) + "\n"
    return result


def _controller_event(store, scenario, key, obj) -> None:
    event = scenario.lookup("apply-event", key)
    if event is not None:
        meta = obj["metadata"]
        event.setdefault("metadata", {}).setdefault("namespace", meta.get("namespace"))
        event["involvedObject"] = {"kind": obj["kind"], "name": meta["name"], "namespace": meta.get("namespace"),
                                   "uid": meta["uid"], "apiVersion": obj.get("apiVersion")}
        store.put(event)


def handle(flags, args):
    server_side, dry_run = parse(args)
    state = standin_lib.state_dir()
    store, scenario = ObjectStore(state), Scenario(state)
    objects = list(documents(sys.stdin.read()))
    if not objects:
        standin_lib.emit(stderr="error: no objects passed to apply\n", code=1)
    out, errors = [], []
    for obj in objects:
        try:
            res = resource(obj.get("kind", ""))
        except KeyError:
            not_reproduced(f"apply of kind {obj.get('kind')!r}")
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            if flags.get("namespace") and meta.get("namespace", flags["namespace"]) != flags["namespace"]:
                not_reproduced("apply with a namespace that differs from the manifest's")
            meta["namespace"] = meta.get("namespace") or flags.get("namespace") or "default"
        key = object_key(res.kind, meta["name"], meta.get("namespace"))
        rejection = scenario.lookup("reject", key)
        if rejection is not None:
            errors.append(rejection)
            continue
        warning = scenario.lookup("warn", key)
        if warning is not None:
            sys.stderr.write(warning)
        existing = store.get(res.kind, meta["name"], meta.get("namespace"))
        new = applied(existing, obj, res, server_side)
        if server_side:
            op = "serverside-applied"
        elif existing is None:
            op = "created"
        else:
            op = "unchanged" if new == existing else "configured"
        if existing is None:
            new["metadata"].setdefault("uid", str(uuid.uuid4()))
            new["metadata"].setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        if dry_run is None:
            store.put(new)
            _controller_event(store, scenario, key, new)
        out.append(f"{res.qualified_kind}/{meta['name']} {op}{DRY_RUN_SUFFIX[dry_run]}\n")
    standin_lib.emit(stdout="".join(out), stderr="".join(errors), code=1 if errors else 0)
