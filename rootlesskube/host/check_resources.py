"""CPUs, memory and free disk under the user's container storage, against the driver and PMM 3."""

from __future__ import annotations

import os
from typing import List

from . import ids
from .context import Context, produces
from .model import FAIL, PASS, SKIP, WARN, CheckResult
from .requirements import PMM_CPUS, RECOMMENDED_DISK_GB

GB = 1024 ** 3


def storage_path(ctx: Context) -> str:
    """The user's Podman graphroot (from podman info when it ran), else Podman's default for rootless."""
    if ctx.user_reason() is None and ctx.find("podman"):
        info = ctx.podman_info().value
        if isinstance(info, dict) and info.get("store", {}).get("graphRoot"):
            return info["store"]["graphRoot"]
    return os.path.join(ctx.user.home, ".local/share/containers/storage")


def _existing_ancestor(path: str) -> str:
    while not os.path.exists(path) and path != os.path.dirname(path):
        path = os.path.dirname(path)
    return path


def _grade(check_id: str, title: str, value: float, minimum: float, recommended: float, unit: str,
           detail: str, driver: str, fix: str) -> CheckResult:
    if value < minimum:
        return CheckResult(check_id, FAIL, title, f"{detail}: {driver} needs at least {minimum:g} {unit}", fix)
    if value < recommended:
        return CheckResult(check_id, WARN, title, f"{detail}: PMM 3 recommends {recommended:g}+ {unit}", fix)
    return CheckResult(check_id, PASS, title, detail)


def _memory(ctx: Context, title: str, total: int) -> CheckResult:
    """The driver's minimum (GiB, as before), then Percona's 4 GB for PMM 3 (decimal GB, as Percona writes it:
    a 4 GiB VM, whose MemTotal is about 3.8 GiB, has it) with the choice: more memory, or ClickHouse's
    low-memory profile."""
    from ..workloads.pmm import MEMORY_CHOICE, MIN_MEMORY_BYTES

    detail = f"{total / 10 ** 9:.1f} GB total (psutil)"
    if total / GB < ctx.req.min_memory_gb:
        return CheckResult(ids.RESOURCES_MEMORY, FAIL, title,
                           f"{detail}: {ctx.driver} needs at least {ctx.req.min_memory_gb:g} GiB",
                           "give the machine (VM) more memory, or use a larger host")
    if total < MIN_MEMORY_BYTES:
        return CheckResult(ids.RESOURCES_MEMORY, WARN, title,
                           f"{detail}: Percona asks for 4+ GB for PMM 3 (the default workload)", MEMORY_CHOICE)
    return CheckResult(ids.RESOURCES_MEMORY, PASS, title, detail)


@produces(ids.RESOURCES_CPU, ids.RESOURCES_MEMORY, ids.RESOURCES_DISK)
def checks(ctx: Context) -> List[CheckResult]:
    titles = {ids.RESOURCES_CPU: "CPUs", ids.RESOURCES_MEMORY: "Memory", ids.RESOURCES_DISK: "Free disk for containers"}
    reason = ctx.live_reason()
    if reason:
        return [CheckResult(i, SKIP, t, reason) for i, t in titles.items()]
    import psutil  # imported lazily: start-up time counts

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (psutil.cpu_count() or 1)
    memory = psutil.virtual_memory().total
    storage = storage_path(ctx)
    measured = _existing_ancestor(storage)
    free = psutil.disk_usage(measured).free / GB
    more = "give the machine (VM) more {what}, or use a larger host"
    return [
        _grade(ids.RESOURCES_CPU, titles[ids.RESOURCES_CPU], cpus, ctx.req.min_cpus, PMM_CPUS, "CPUs",
               f"{cpus} CPUs usable (sched_getaffinity)", ctx.driver, more.format(what="CPUs")),
        _memory(ctx, titles[ids.RESOURCES_MEMORY], memory),
        _grade(ids.RESOURCES_DISK, titles[ids.RESOURCES_DISK], free, ctx.req.min_disk_gb, RECOMMENDED_DISK_GB,
               "GB", f"{free:.1f} GB free at {measured} (storage {storage})", ctx.driver,
               "free space there (`podman system prune` as the user), or point graphroot in "
               "~/.config/containers/storage.conf at a larger file system"),
    ]


CHECKS = [checks]
