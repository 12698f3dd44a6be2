"""Bring a cluster up, reuse it, take it down, and remember what this user created.

`up(spec, options)` is a list of named steps sharing one BringUp context, each
shown with `ui.step` and its duration. It holds a lock per cluster name, so a
second `up` of the same name fails at once. A record of every cluster this
user's tool created lives in the state directory (clusters/NAME/record.json,
written before the tool is called, so nothing is ever created unrecorded);
`down` refuses to delete a cluster without one unless forced.

On failure, Ctrl-C or SIGTERM after creation started, the logs are collected
into a folder that is named, then the cluster is deleted (or kept with
--keep-on-failure, and the exact removal command printed): exactly once, with
further signals deferred until the cleanup is done.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Sequence

from . import paths, ui
from .drivers import get_driver
from .drivers import nodes as containers
from .drivers.base import ClusterExists, ClusterSpec, CreateResult, Driver
from .errors import HostNotReady, RootlesskubeError, UsageError
from .host import ignore
from .names import dns1123_label
from .run import KILL_GRACE_SECONDS, pretty

DEFAULT_NAME = "rootlesskube"
WAIT_READY_SECONDS = 300
PULL_STOP_SECONDS = 2 * KILL_GRACE_SECONDS + 1  # SIGTERM, then SIGKILL, of a pull that was stopped


def default_doctor(driver: str) -> Any:
    """The real doctor for this user and driver (a DoctorReport with .ready, .checks)."""
    import getpass

    from .host.doctor import run_doctor
    from .host.view import HostView

    return run_doctor(HostView(), getpass.getuser(), driver)


# Tests replace this with a function returning a passing report (this machine is not ready).
DOCTOR: Callable[[str], Any] = default_doctor


@dataclass
class UpOptions:
    recreate: bool = False
    keep_on_failure: bool = False
    wait_seconds: int = WAIT_READY_SECONDS
    create_timeout: Optional[float] = None  # None = the driver's default
    images: Sequence[str] = ()  # pulled with podman while the cluster is created
    pull_timeout: float = 1800.0
    ignore_checks: Sequence[str] = ()  # doctor checks whose failure does not stop up (host.ignore)
    ignore_source: str = "--ignore-checks"  # where they were given, for the messages


@dataclass
class ClusterRecord:
    name: str
    driver: str
    spec: dict
    spec_digest: str
    kubeconfig: str
    state: str = "creating"  # creating, ready, failed, stopped
    created_at: float = field(default_factory=time.time)
    default_storage_class: bool = True  # False on Usernetes: use emptyDir instead of PVCs
    reused: bool = False
    started: bool = False  # this up (or start) started the stopped cluster
    ignored_checks: List[str] = field(default_factory=list)  # failing doctor checks this up went past

    def as_dict(self) -> dict:
        return asdict(self)


# --- the registry of clusters this user's tool created ---
def cluster_dir(name: str) -> Path:
    return paths.state_dir() / "clusters" / dns1123_label(name, "cluster name")


def kubeconfig_path(name: str) -> Path:
    """Where the kubeconfig of cluster NAME is (mode 0600)."""
    return cluster_dir(name) / "kubeconfig"


def _record_file(name: str) -> Path:
    return cluster_dir(name) / "record.json"


def load_record(name: str) -> Optional[ClusterRecord]:
    try:
        data = json.loads(_record_file(name).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RootlesskubeError(f"the record of cluster {name!r} is unreadable: {exc}",
                                hint=f"remove {_record_file(name)} if the cluster is gone") from None
    return ClusterRecord(**data)


def save_record(record: ClusterRecord) -> None:
    paths.write_private(_record_file(record.name), json.dumps(record.as_dict(), indent=2, sort_keys=True) + "\n")


def forget(name: str) -> None:
    for path in (_record_file(name), kubeconfig_path(name)):
        if path.exists():
            path.unlink()


def known_clusters() -> List[ClusterRecord]:
    root = paths.state_dir() / "clusters"
    names = sorted(p.parent.name for p in root.glob("*/record.json")) if root.is_dir() else []
    return [r for r in (load_record(n) for n in names) if r is not None]


@contextlib.contextmanager
def cluster_lock(name: str) -> Iterator[None]:
    with paths.exclusive_lock(paths.state_dir() / "locks" / f"{name}.lock", f"cluster {name!r}"):
        yield


# --- bring-up ---
@dataclass
class BringUp:
    """What the steps of one `up` share."""

    spec: ClusterSpec
    driver: Driver
    options: UpOptions
    record: Optional[ClusterRecord] = None
    reused: bool = False
    created: bool = False  # set before the tool is called: a half-created cluster is ours to clean
    created_result: CreateResult = field(default_factory=CreateResult)
    pulls: List[Future] = field(default_factory=list)
    stop_pulls: threading.Event = field(default_factory=threading.Event)
    cleaned: bool = False
    ignored: List[str] = field(default_factory=list)  # failing doctor checks ignored
    needs_start: bool = False  # the cluster exists with the same spec, stopped: start it instead of creating


def up(spec: ClusterSpec, options: Optional[UpOptions] = None) -> ClusterRecord:
    """Create (or reuse) the cluster SPEC describes and wait until every node is Ready."""
    options = options or UpOptions()
    spec.validate()
    driver = get_driver(spec.driver)
    if options.create_timeout:
        driver.create_timeout = options.create_timeout
    with ui.step(f"check the host for {spec.driver} (doctor)"):
        ignored = check_host(spec.driver, options.ignore_checks, options.ignore_source)
    driver.preflight(spec)  # e.g. Usernetes: its own checkout, a podman-compose it can use
    with cluster_lock(spec.name):
        ctx = BringUp(spec, driver, options, ignored=ignored)
        try:
            for title, action in STEPS:
                with ui.step(title.format(name=spec.name)) as record:
                    if action(ctx) is False:
                        record.status = "skipped"
        except BaseException as exc:
            if isinstance(exc, ClusterExists):
                ctx.created = False  # someone else's cluster appeared meanwhile: never touch it
                forget(spec.name)
            ctx.stop_pulls.set()  # a failed or interrupted up leaves no pull behind
            cleanup_after_failure(ctx)
            wait_futures(ctx.pulls, timeout=PULL_STOP_SECONDS)  # the pulls' threads kill their process groups
            if ignored:  # the failure may be theirs
                ui.warn(ignore.summary(ignored, options.ignore_source))
            raise
    assert ctx.record is not None
    if ignored:
        ui.warn(ignore.summary(ignored, options.ignore_source))
    return ctx.record


def check_host(driver: str, ignore_checks: Sequence[str] = (), source: str = "--ignore-checks") -> List[str]:
    """Run the doctor; HostNotReady when a check fails that is not ignored. The ids of the ignored failures."""
    report = DOCTOR(driver)
    if ignore_checks and hasattr(report, "ignore"):
        report.ignore = tuple(ignore_checks)  # its JSON marks them
    blocking, ignored = ignore.split(report.checks, ignore_checks)
    if blocking:
        error = HostNotReady(f"the host is not ready for {driver}:\n" + "\n".join(
            [_failing_check(c) for c in blocking] + [_failing_check(c, f"ignored by {source}") for c in ignored]),
            hint="`rootlesskube doctor` shows every check and its fix")
        error.report = report
        raise error
    for check in ignored:
        ui.warn(f"ignoring the failing check {check.id} ({source}): {check.title}: {check.detail}")
    return [c.id for c in ignored]


def _failing_check(check, ignored: str = "") -> str:
    """A failing check as `up` reports it: what was found, then its fix indented below."""
    fix = "".join(f"\n      {line}" for line in (check.fix or "").splitlines())
    return f"  [fail{', ' + ignored if ignored else ''}] {check.id}: {check.title}: {check.detail}{fix}"


def _find_existing(ctx: BringUp) -> None:
    name, spec = ctx.spec.name, ctx.spec
    record = load_record(name)
    states = ctx.driver.node_states(name) if record is not None else None  # asked once: a warm run counts its calls
    if record is not None and record.state in ("ready", "stopped") and not ctx.options.recreate:
        raise_if_gone(record, ctx.driver, states)
    if not ctx.driver.exists(name):
        return None
    if record is None:
        raise RootlesskubeError(
            f"a {spec.driver} cluster named {name!r} exists, but rootlesskube did not create it",
            hint=f"use another --name, or `rootlesskube down --name {name} --force` to delete it",
        )
    if ctx.options.recreate:
        ui.say(f"deleting cluster {name!r} to recreate it (--recreate)")
        ctx.driver.delete(name)
        forget(name)
        return None
    if record.driver != spec.driver or record.spec_digest != spec.digest():
        changes = _changes(record.spec, json.loads(json.dumps(spec.as_dict())))  # tuples as stored: lists
        raise UsageError(
            f"cluster {name!r} exists with a different spec ({changes}); it is not recreated silently",
            hint=f"`rootlesskube up --name {name} --recreate` replaces it (its workloads are lost)",
        )
    ctx.reused = True
    ctx.record = record
    lifecycle = containers.summary(states if states is not None else ctx.driver.node_states(name))
    if lifecycle in ("running", "missing") and not (lifecycle == "missing" and ctx.driver.stop_removes_containers):
        ui.say(f"cluster {name!r} already exists with the same spec: reusing it")
        return None
    ui.say(f"cluster {name!r} exists with the same spec but is {'stopped' if lifecycle == 'missing' else lifecycle}: "
           "starting it")
    ctx.needs_start = True
    return None


def _start_stopped(ctx: BringUp) -> Optional[bool]:
    if not ctx.needs_start:
        return False
    ctx.driver.start(ctx.spec.name)
    return None


def _changes(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys) or "unknown change"


def _create(ctx: BringUp) -> Optional[bool]:
    if ctx.reused:
        return False
    spec = ctx.spec
    ctx.record = ClusterRecord(spec.name, spec.driver, spec.as_dict(), spec.digest(), str(kubeconfig_path(spec.name)),
                               default_storage_class=ctx.driver.has_default_storage_class)
    save_record(ctx.record)
    ctx.pulls = [_in_background(_pull, image, ctx.options.pull_timeout, ctx.stop_pulls) for image in ctx.options.images]
    ctx.created = True
    ctx.created_result = ctx.driver.create(spec)  # on success the next step waits for the pulls
    for warning in ctx.created_result.warnings:
        ui.warn(warning)
    return None


def _in_background(function: Callable, *args: Any) -> Future:
    """Run function(*args) in a daemon thread (exit never waits for it); its outcome lands in the Future."""
    future: Future = Future()

    def work() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # the step that waits reports it
            future.set_exception(exc)

    threading.Thread(target=work, name=f"rootlesskube {function.__name__}", daemon=True).start()
    return future


def _pull(image: str, timeout: float, cancel: threading.Event) -> None:
    from .podman import Podman

    Podman().pull(image, timeout=timeout, cancel=cancel)


def _pulled(ctx: BringUp) -> Optional[bool]:
    if not ctx.pulls:
        return False
    failures = []
    for image, future in zip(ctx.options.images, ctx.pulls):
        exc = future.exception()  # waits for the pull
        if exc is not None:
            failures.append(f"{image}: {exc}")
    if failures:
        raise RootlesskubeError("pulling the images the cluster needs failed:\n" + "\n".join(failures),
                                hint="can this user reach the registry? (`podman pull IMAGE` shows the details)")
    return None


def _write_kubeconfig(ctx: BringUp) -> None:
    refresh_kubeconfig(ctx.spec.name, ctx.driver)


def refresh_kubeconfig(name: str, driver: Driver) -> None:
    """Write the tool's kubeconfig to the private file; say so when the API server's address changed."""
    target = kubeconfig_path(name)
    before = _server(target) if target.is_file() else None
    paths.write_private(target, driver.kubeconfig(name))
    after = _server(target)
    if before and after and before != after:
        ui.say(f"the API server of cluster {name!r} moved from {before} to {after}; the kubeconfig {target} says so now")


def _wait_ready(ctx: BringUp) -> None:
    from .kube import Kubectl
    from .run import CommandError

    kubectl = Kubectl(str(kubeconfig_path(ctx.spec.name)))
    try:
        kubectl.wait(["node", "--all"], "condition=Ready", ctx.options.wait_seconds)
    except CommandError as exc:
        told = "" if ctx.created_result.ready else f" ({ctx.spec.driver} had already reported a timeout)"
        raise RootlesskubeError(
            f"the nodes of cluster {ctx.spec.name!r} did not become Ready within {ctx.options.wait_seconds}s{told}: "
            + (exc.stderr.strip() or str(exc)),
            hint="see the collected logs; a node that never gets Ready usually lacks cgroup delegation or its CNI",
        ) from None


def _remember(ctx: BringUp) -> None:
    assert ctx.record is not None
    ctx.record.state = "ready"
    ctx.record.reused = ctx.reused
    ctx.record.started = ctx.needs_start
    ctx.record.ignored_checks = list(ctx.ignored)
    save_record(ctx.record)


STEPS = (
    ("look for an existing cluster {name!r}", _find_existing),
    ("create the cluster {name!r}", _create),
    ("start the stopped cluster {name!r}", _start_stopped),
    ("pull the images the recipe needs", _pulled),
    ("write the kubeconfig", _write_kubeconfig),
    ("wait until every node is Ready", _wait_ready),
    ("record the cluster", _remember),
)


# --- cleanup ---
@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, so a second Ctrl-C cannot cut a cleanup short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: List[int] = []
    previous = {sig: signal.signal(sig, lambda s, f: received.append(s)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            ui.say("a signal arrived during cleanup; it was handled after the cleanup finished")


def cleanup_after_failure(ctx: BringUp) -> None:
    if ctx.cleaned or not ctx.created:
        return
    ctx.cleaned = True
    name, driver = ctx.spec.name, ctx.driver
    with deferred_signals():
        logs = cluster_dir(name) / time.strftime("logs-%Y%m%d-%H%M%S")
        try:
            collected = driver.collect_logs(name, logs)
        except RootlesskubeError as exc:
            collected = []
            ui.warn(f"could not collect logs: {exc}")
        ui.say(f"logs of the failed bring-up: {logs}" if collected else f"no logs could be collected into {logs}")
        removal = f"rootlesskube down --name {name}   (or: {pretty(driver.delete_command(name))})"
        if ctx.options.keep_on_failure:
            if ctx.record is not None:
                ctx.record.state = "failed"
                save_record(ctx.record)
            ui.say(f"kept cluster {name!r} for debugging (--keep-on-failure); remove it with: {removal}")
            return
        try:
            driver.delete(name)
        except RootlesskubeError as exc:
            ui.error(f"could not delete the half-created cluster {name!r}: {exc}", f"remove it with: {removal}")
            return
        forget(name)
        ui.say(f"deleted the half-created cluster {name!r}")


# --- stop, start, and a cluster whose containers are gone ---
class ClusterGone(RootlesskubeError):
    """rootlesskube's record of the cluster remains, its node containers do not."""


def is_gone(record: ClusterRecord, driver: Driver, states: Optional[dict] = None) -> bool:
    """The record says the cluster was made, but its tool no longer has it (or has no node container for it)."""
    states = driver.node_states(record.name) if states is None else states
    if states:
        return False
    return not (driver.stop_removes_containers and driver.exists(record.name))


def raise_if_gone(record: ClusterRecord, driver: Driver, states: Optional[dict] = None) -> None:
    if is_gone(record, driver, states):
        raise ClusterGone(
            f"the {record.driver} cluster {record.name!r} is gone: rootlesskube's record of it remains, but no node "
            "container of it exists (removed outside rootlesskube, e.g. `podman rm` or `podman system reset`)",
            hint=f"`rootlesskube down --name {record.name}` cleans the record; then `rootlesskube up` creates it again "
                 f"(or `rootlesskube up --name {record.name} --recreate` with its switches does both)")


def _own_record(name: str) -> ClusterRecord:
    dns1123_label(name, "cluster name")
    record = load_record(name)
    if record is None:
        raise RootlesskubeError(f"rootlesskube knows no cluster named {name!r}",
                                hint="`rootlesskube status` lists the clusters it created")
    return record


def stop(name: str) -> ClusterRecord:
    """Stop cluster NAME as its tool supports it (its data stays); `start` brings it back."""
    record = _own_record(name)
    driver = get_driver(record.driver)
    with cluster_lock(name):
        states = driver.node_states(name)
        raise_if_gone(record, driver, states)
        if any(state == containers.RUNNING for state in states.values()):
            with ui.step(f"stop the {record.driver} cluster {name!r}"):
                driver.stop(name)
        else:
            ui.say(f"cluster {name!r} is already stopped")
        record.state = "stopped"
        save_record(record)
    return record


def start(name: str, options: Optional[UpOptions] = None) -> ClusterRecord:
    """Start the stopped cluster NAME, wait until every node is Ready, re-read the API server's address."""
    options = options or UpOptions()
    record = _own_record(name)
    driver = get_driver(record.driver)
    with cluster_lock(name):
        raise_if_gone(record, driver)
        spec = ClusterSpec.from_dict(record.spec)
        ctx = BringUp(spec, driver, options, record=record, reused=True, needs_start=True)
        for title, action in (("start the cluster {name!r}", _start_stopped),
                              ("write the kubeconfig", _write_kubeconfig),
                              ("wait until every node is Ready", _wait_ready)):
            with ui.step(title.format(name=name)):
                action(ctx)
        record.state = "ready"
        record.started = True
        save_record(record)
    return record


# --- down and status ---
def down(name: str, force: bool = False) -> bool:
    """Delete cluster NAME if this user's tool created it (or force). Returns False if nothing existed."""
    dns1123_label(name, "cluster name")
    record = load_record(name)  # before the lock: no lock file is left for a cluster never created
    if record is None and not force:
        raise RootlesskubeError(
            f"rootlesskube has no record of creating a cluster named {name!r}; on a shared host it "
            "never deletes a cluster it did not create",
            hint=f"`rootlesskube status` lists yours; `rootlesskube down --name {name} --force` deletes it anyway",
        )
    with cluster_lock(name):
        record = load_record(name)
        if record is None and not force:
            return False  # another run deleted it meanwhile
        drivers = [record.driver] if record else _drivers_that_have(name)
        existed = False
        for driver_name in drivers:
            driver = get_driver(driver_name)
            if driver.exists(name):
                with ui.step(f"delete the {driver_name} cluster {name!r}"):
                    driver.delete(name)
                existed = True
        forget(name)
        return existed


def _drivers_that_have(name: str) -> List[str]:
    from .drivers import DRIVERS
    from .run import CommandNotFound

    found = []
    for driver_name in DRIVERS:
        try:
            if get_driver(driver_name).exists(name):
                found.append(driver_name)
        except CommandNotFound:
            continue
    return found


def status(name: Optional[str] = None) -> List[dict]:
    """Every cluster this user's tool knows (or just NAME): driver, nodes, Ready, endpoint, kubeconfig."""
    records = [load_record(name)] if name else known_clusters()
    if name and records[0] is None:
        raise RootlesskubeError(f"rootlesskube knows no cluster named {name!r}",
                                hint="`rootlesskube status` lists the clusters it created")
    return [_status_of(r) for r in records if r is not None]


def _status_of(record: ClusterRecord) -> dict:
    from .kube import Kubectl

    driver = get_driver(record.driver)
    tool = driver.status(record.name)
    asked = ""
    try:
        states = driver.node_states(record.name)
        lifecycle = containers.summary(states)
    except RootlesskubeError as exc:  # one cluster's podman trouble must not hide the others' status
        states, lifecycle, asked = {}, "unknown", f"could not ask Podman for the node containers: {exc}"
    if lifecycle == "missing":
        lifecycle = "gone" if is_gone(record, driver, states) else "stopped"
    row = {"name": record.name, "driver": record.driver, "exists": tool.exists, "state": record.state,
           "lifecycle": lifecycle,
           "containers": [{"name": n, "state": "running" if s == containers.RUNNING else "stopped", "podman_state": s}
                          for n, s in states.items()],
           "nodes": [], "ready": False, "api_endpoint": None, "kubeconfig": record.kubeconfig,
           "default_storage_class": record.default_storage_class, "detail": _joined(tool.detail, asked)}
    kubeconfig = Path(record.kubeconfig)
    if lifecycle == "gone":
        row["detail"] = _joined(row["detail"], f"no node container exists; `rootlesskube down --name {record.name}` "
                                               "cleans the record")
    elif lifecycle == "stopped":
        row["detail"] = _joined(row["detail"], f"stopped; `rootlesskube start --name {record.name}` starts it")
        row["api_endpoint"] = _server(kubeconfig) if kubeconfig.is_file() else None
    if not tool.exists or not kubeconfig.is_file() or lifecycle in ("gone", "stopped"):
        return row
    row["api_endpoint"] = _server(kubeconfig)
    try:
        nodes = Kubectl(str(kubeconfig), timeout=20).get_json(["nodes"])["items"]
    except RootlesskubeError as exc:
        row["detail"] = _joined(row["detail"], f"API server unreachable: {exc}")
        return row
    row["nodes"] = [{"name": n["metadata"]["name"], "ready": _node_ready(n)} for n in nodes]
    row["ready"] = bool(nodes) and all(n["ready"] for n in row["nodes"])
    return row


def _joined(detail: str, more: str) -> str:
    return f"{detail}; {more}" if detail and more else detail or more


def _node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in node.get("status", {}).get("conditions", []))


def _server(kubeconfig: Path) -> Optional[str]:
    import yaml

    try:
        config = yaml.safe_load(kubeconfig.read_text()) or {}
        return config["clusters"][0]["cluster"]["server"]
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        return None
