"""Run every host check for one user and driver; the report that `doctor` prints and host_setup reads.

    report = run_doctor(HostView("/"), "alice", "kind")
    report.ready, report.get("cgroup.v2").status, report.as_dict()

Live probes (podman info, tool versions) run in threads while the file-based
checks read the view. A check that meets an unreadable file becomes a `warn`
naming the file, never a traceback.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

from ..drivers import DRIVERS
from ..errors import UsageError
from . import (
    check_cgroups,
    check_devices,
    check_ids,
    check_modules,
    check_resources,
    check_session,
    check_system,
    check_tools,
    check_userns,
    fixes,
    users,
)
from .context import Context
from .ignore import ignores
from .model import FAIL, CheckResult
from .readers import architecture, kernel_release
from .requirements import for_driver
from .view import HostReadError, HostView

# file-based checks first, the ones that wait for live probes last
CHECK_GROUPS = (
    check_system.CHECKS[:1] + check_userns.CHECKS + check_cgroups.CHECKS + check_modules.CHECKS
    + check_ids.CHECKS + check_devices.CHECKS + check_system.CHECKS[1:] + check_session.CHECKS
    + check_tools.CHECKS + check_resources.CHECKS
)
# The checks that wait for the live probes (podman info, tool versions) run last, so the others
# overlap them; of those, resources first: its psutil import and its CPU and memory readings need
# no probe. The report keeps CHECK_GROUPS' order.
_WAITING = check_resources.CHECKS + check_tools.CHECKS
RUN_ORDER = [check for check in CHECK_GROUPS if check not in _WAITING] + _WAITING
PROBE_THREADS = 4


@dataclass
class DoctorReport:
    driver: str
    user: str
    host: dict
    checks: List[CheckResult] = field(default_factory=list)
    ignore: Tuple[str, ...] = ()  # check ids whose failure does not block (host.ignore), or ("all",)

    @property
    def ready(self) -> bool:
        """No check fails for the chosen driver, except those ignored."""
        return not self.failing()

    def get(self, check_id: str) -> Optional[CheckResult]:
        return next((c for c in self.checks if c.id == check_id), None)

    def is_ignored(self, check: CheckResult) -> bool:
        return check.status == FAIL and ignores(self.ignore, check.id)

    def failing(self) -> List[CheckResult]:
        """The failures that block (the ignored ones are in ignored())."""
        return [c for c in self.checks if c.status == FAIL and not self.is_ignored(c)]

    def ignored(self) -> List[CheckResult]:
        return [c for c in self.checks if self.is_ignored(c)]

    def as_dict(self) -> dict:
        return {
            "ready": self.ready,
            "driver": self.driver,
            "user": self.user,
            "host": self.host,
            "checks": [{**c.as_dict(), "ignored": self.is_ignored(c)} for c in self.checks],
        }


def run_doctor(view: HostView, user: str, driver: str) -> DoctorReport:
    """Check the host seen through `view` for `user` and `driver`. UsageError for an unknown user or driver."""
    if driver not in DRIVERS:
        raise UsageError(f"unknown driver {driver!r}", hint=f"use one of: {', '.join(DRIVERS)}")
    host_user = users.lookup(view, user)
    distro = fixes.detect(view)
    with ThreadPoolExecutor(max_workers=PROBE_THREADS, thread_name_prefix="doctor-probe") as executor:
        ctx = Context(view, host_user, driver, distro, for_driver(driver), executor)
        ctx.start_probes()
        outcomes = {check: _run_one(check, ctx) for check in RUN_ORDER}
    results = [result for check in CHECK_GROUPS for result in outcomes[check]]
    host = {
        "root": str(view.root),
        "live": view.live,
        "os": distro.name,
        "distribution": distro.id,
        "version": distro.version,
        "package_manager": distro.family,
        "kernel": _quiet(kernel_release, view),
        "arch": _quiet(architecture, view),
        "uid": host_user.uid,
    }
    return DoctorReport(driver, user, host, results)


def _run_one(check: Callable, ctx: Context) -> List[CheckResult]:
    try:
        out = check(ctx)
    except HostReadError as exc:
        return [ctx.could_not_read(check_id, exc) for check_id in check.produces(ctx)]
    return out if isinstance(out, list) else [out]


def _quiet(read, view: HostView) -> Optional[str]:
    try:
        return read(view)
    except HostReadError:
        return None
