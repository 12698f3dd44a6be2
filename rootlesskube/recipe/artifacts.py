"""Evidence of a failed recipe step: driver logs, events, and the failed pods' descriptions and logs.

Every collector writes into one folder and returns the files it wrote. A
collector that fails writes what went wrong instead (`NAME.error.txt`), so
the folder always says what was tried; collection itself never fails a run.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import List

from .. import cluster, paths, ui
from ..drivers import get_driver
from ..drivers.base import ClusterSpec
from ..errors import RootlesskubeError

NOT_RUNNING = ("Pending", "Failed", "Unknown")
LOG_TAIL_LINES = 500
_SAFE = re.compile(r"[^a-zA-Z0-9._-]")
TIMEOUT = 60.0


def move_bring_up_logs(name: str, since: float, folder: Path) -> List[Path]:
    """Move the logs cluster.up collected after a failed bring-up (clusters/NAME/logs-*) into folder."""
    moved = []
    source = cluster.cluster_dir(name)
    for logs in sorted(source.glob("logs-*")) if source.is_dir() else []:
        if logs.stat().st_mtime >= since - 1:
            target = paths.private_dir(folder) / "driver-logs"
            shutil.move(str(logs), str(target))
            moved.append(target)
    return moved


def collect_cluster(spec: ClusterSpec, folder: Path) -> List[Path]:
    """Driver logs (unless already there), events, and describe + logs of every pod not running."""
    folder = paths.private_dir(folder)
    written: List[Path] = []
    if not (folder / "driver-logs").exists():
        written += _driver_logs(spec, folder / "driver-logs")
    from ..kube import Kubectl

    kubectl = Kubectl(str(cluster.kubeconfig_path(spec.name)), timeout=TIMEOUT)
    written.append(_save(folder, "events.json", kubectl, ["get", "events", "-A", "-o", "json"]))
    try:
        pods = kubectl.get_json(["pods", "-A"]).get("items") or []
    except RootlesskubeError as exc:
        written.append(_write(folder / "pods.error.txt", f"{exc}\n"))
        return written
    for pod in failed_pods(pods):
        ns, name = pod["metadata"].get("namespace", "default"), pod["metadata"]["name"]
        stem = _SAFE.sub("_", f"{ns}-{name}")  # names come from the API server: never a path
        written.append(_save(folder, f"describe-{stem}.txt", kubectl, ["describe", "pod", name, "--namespace", ns]))
        written.append(_save(folder, f"logs-{stem}.txt", kubectl,
                             ["logs", name, "--namespace", ns, "--all-containers", f"--tail={LOG_TAIL_LINES}"]))
    return written


def failed_pods(pods: List[dict]) -> List[dict]:
    """Pods that are not Running/Succeeded, or have a container that is not ready."""
    found = []
    for pod in pods:
        status = pod.get("status") or {}
        statuses = status.get("containerStatuses") or []
        if status.get("phase") in NOT_RUNNING or any(not s.get("ready") for s in statuses
                                                     if status.get("phase") != "Succeeded"):
            found.append(pod)
    return found


def _driver_logs(spec: ClusterSpec, target: Path) -> List[Path]:
    try:
        collected = get_driver(spec.driver).collect_logs(spec.name, target)
    except RootlesskubeError as exc:
        ui.warn(f"could not collect the {spec.driver} logs: {exc}")
        return [_write(target.parent / "driver-logs.error.txt", f"{exc}\n")]
    return collected or [_write(target.parent / "driver-logs.error.txt", f"{spec.driver} collected no logs\n")]


def _save(folder: Path, filename: str, kubectl, args: List[str]) -> Path:
    """kubectl ARGS's stdout into folder/filename, or its error into folder/STEM.error.txt."""
    try:
        return _write(folder / filename, kubectl.run(args).stdout)
    except RootlesskubeError as exc:
        stem = filename.rsplit(".", 1)[0]
        return _write(folder / f"{stem}.error.txt", f"{exc}\n")


def _write(path: Path, text: str) -> Path:
    return paths.write_private(path, text)


__all__ = ["collect_cluster", "move_bring_up_logs", "failed_pods"]
