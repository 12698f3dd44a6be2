"""What every check reads: the view, the user, the driver, and the live probes.

Live probes (podman info, tool versions) start in threads as soon as the
context exists, so they run while the file-based checks read the view.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import Executor, Future
from typing import Dict, List, Optional, Tuple

from .. import run as runner
from .fixes import Distro, as_root, quote
from .model import WARN, CheckResult
from .probes import Probe
from .probes import podman_info as _podman_info
from .requirements import Requirements
from .users import HostUser
from .view import HostReadError, HostView

# where programs are looked for in a --host-root tree (live: the PATH)
BIN_DIRS = ("/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin")
VERSION_TIMEOUT = 10.0
VERSION_ARGV = {
    "kind": ["version"],  # "kind v0.32.0 go1.26.3 linux/amd64"
    "minikube": ["version", "--short"],  # "v1.38.1"
    "kubectl": ["version", "--client", "-o", "json"],  # {"clientVersion": {"gitVersion": "v1.36.3", ...}, ...}
    # every release has --version (`version --short` only from 1.0.6); 1.0.3 prints podman's version first
    # (tests/contracts/podman-compose/)
    "podman-compose": ["--version"],
}
VERSION_IN_JSON = {"kubectl": ("clientVersion", "gitVersion")}
# the line that holds the tool's own version; the others: the first dotted version printed
VERSION_LINE = {"podman-compose": re.compile(r"^podman-composer? version:?\s+v?(\d+\.\d+(?:\.\d+)?)", re.MULTILINE)}
_VERSION = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?)")


class Context:
    def __init__(self, view: HostView, user: HostUser, driver: str, distro: Distro,
                 requirements: Requirements, executor: Optional[Executor] = None):
        self.view = view
        self.user = user
        self.driver = driver
        self.distro = distro
        self.req = requirements
        self.caller_uid = os.getuid()
        self._executor = executor
        self._futures: Dict[str, Future] = {}
        self._paths: Dict[str, Optional[str]] = {}

    # -- why a live probe may not run ----------------------------------------------------
    def live_reason(self) -> Optional[str]:
        """None when live probes may run, else why they are skipped."""
        if not self.view.live:
            return f"--host-root {self.view.root}: this needs the running host, not files"
        return None

    def user_reason(self) -> Optional[str]:
        """None when this process runs as the checked user, else why its own facts do not apply."""
        reason = self.live_reason()
        if reason is None and self.caller_uid != self.user.uid:
            reason = (f"doctor runs as uid {self.caller_uid}, not as {self.user.name} (uid {self.user.uid}): "
                      f"these live facts would be the caller's; run `rootlesskube doctor` as {self.user.name}")
        return reason

    # -- programs ------------------------------------------------------------------------
    def find(self, name: str) -> Optional[str]:
        """The host path of a program: on PATH when live, in BIN_DIRS of the view otherwise."""
        if name not in self._paths:
            if self.view.live:
                from .. import tools  # the copy `rootlesskube tools install` put there wins, as for the drivers

                resolved = tools.binary(name)
                found = resolved if os.sep in resolved else runner.which(name)
            else:
                found = next((f"{d}/{name}" for d in BIN_DIRS if self.view.path(f"{d}/{name}").is_file()), None)
            self._paths[name] = found
        return self._paths[name]

    def root_can_read(self, host_paths: List[str]) -> str:
        """The fix when only root can read what a check needs: the doctor as root tells."""
        where = "" if self.view.live else f" --host-root {quote(str(self.view.root))}"
        return as_root([f"rootlesskube doctor --user {self.user.name} --driver {self.driver}{where}"],
                             f"root can read {', '.join(host_paths)}; its verdict is the one that counts",
                             host_setup=False)

    def could_not_read(self, check_id: str, exc: HostReadError) -> CheckResult:
        """A check that met a file it cannot read: a warning naming the file, with a fix a person can do."""
        if exc.denied and self.caller_uid != 0:
            return CheckResult(
                check_id, WARN, f"could not read {exc.path}",
                f"{exc.path} cannot be read by uid {self.caller_uid}: {exc.reason}; this check could not run",
                self.root_can_read([exc.path]))
        return CheckResult(check_id, WARN, f"could not read {exc.path}",
                           f"{exc.path} cannot be read: {exc.reason}; this check could not run",
                           f"look at {exc.path} (ls -l {exc.path}): it should be a readable file; "
                           "then run `rootlesskube doctor` again")

    def systemd(self) -> bool:
        """Is systemd the init? Live: sd_booted()'s test; an image: is systemd installed."""
        from .readers import systemd_init

        return systemd_init(self.view)

    # -- live probes ---------------------------------------------------------------------
    def start_probes(self) -> None:
        if self._executor is None or self.live_reason():
            return
        if self.user_reason() is None and self.find("podman"):
            from . import early

            self._futures["podman"] = early.take() or self._executor.submit(_podman_info)
        for tool in VERSION_ARGV:
            if tool in self.req.tools and self.find(tool):
                self._futures[tool] = self._executor.submit(_tool_version, self.find(tool), tool)

    def podman_info(self) -> Probe:
        return self._result("podman", _podman_info)

    def tool_version(self, tool: str) -> Probe:
        path = self.find(tool)
        if tool not in VERSION_ARGV or path is None:
            return Probe()
        return self._result(tool, lambda: _tool_version(path, tool))

    def _result(self, key: str, compute) -> Probe:
        future = self._futures.get(key)
        if future is None:
            future = self._futures[key] = _done(compute)
        return future.result()


def _done(compute) -> Future:
    future: Future = Future()
    future.set_result(compute())
    return future


def _tool_version(path: str, tool: str) -> Probe:
    from . import tool_versions

    known = tool_versions.cached(path)
    if known is not None:
        return Probe(value=known)
    probe = _ask_version(path, tool)
    if probe.value is not None:
        tool_versions.remember(path, probe.value)
    return probe


def _ask_version(path: str, tool: str) -> Probe:
    argv = [path, *VERSION_ARGV[tool]]
    try:
        result = runner.run(argv, timeout=VERSION_TIMEOUT)
    except runner.CommandError as exc:
        return Probe(error=str(exc))
    line = VERSION_LINE.get(tool)
    if line is not None:
        match = line.search(result.stdout)
        if match is None:
            return Probe(error=f"`{runner.pretty(argv)}` printed no version line: {runner.tail(result.stdout) or 'nothing'}")
        return Probe(value=match.group(1))
    keys = VERSION_IN_JSON.get(tool)
    if keys is None:
        return Probe(value=parse_version(result.stdout))
    import json

    try:
        value = json.loads(result.stdout)
        for key in keys:
            value = value[key]
    except (ValueError, KeyError, TypeError):
        return Probe(error=f"`{runner.pretty(argv)}` printed no {'.'.join(keys)}: {runner.tail(result.stdout) or 'nothing'}")
    return Probe(value=parse_version(str(value)))


def parse_version(text: str) -> Optional[str]:
    """The first dotted version in a tool's output ("kind v0.32.0 go1.26.3" -> "0.32.0")."""
    match = _VERSION.search(text)
    return match.group(1) if match else None


def version_tuple(version: str) -> Tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def produces(*check_ids):
    """Mark a check function with the ids it reports (a callable of the Context for dynamic ones),
    so the doctor can still report each of them when a host file cannot be read."""
    def mark(function):
        function.produces = check_ids[0] if len(check_ids) == 1 and callable(check_ids[0]) else \
            (lambda ctx: list(check_ids))
        return function
    return mark
