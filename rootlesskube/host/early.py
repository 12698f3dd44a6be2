"""Start `podman info` before the CLI framework is imported, when `doctor` will need it.

`podman info` is the slowest part of `doctor`; __main__ calls `start(args)`
first thing, so it runs while Python imports plumbum and the checks. Only
for the plain case: the caller's own live host (no --host-root, no --user,
not under sudo); the doctor uses the result only when its own rules agree.
And only for arguments that are valid: Podman initialises a new user's
store (~/.local/share/containers, ~/.config/cni) when it starts, and a usage
error must run nothing. Anything this does not recognise waits for the CLI.
"""

from __future__ import annotations

import os
import threading
from typing import List, Optional

_podman: Optional["_Pending"] = None


class _Pending:
    """The early probe's outcome, read with result() like a Future (concurrent.futures costs 5 ms to import)."""

    def __init__(self, work):
        self._done = threading.Event()
        self._value, self._error = None, None
        threading.Thread(target=self._run, args=(work,), name="doctor-early-podman", daemon=True).start()

    def _run(self, work) -> None:
        try:
            self._value = work()
        except BaseException as exc:  # raised again to whoever reads the result, as a Future does
            self._error = exc
        finally:
            self._done.set()

    def result(self):
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


# the switches of a plain `doctor` (rootlesskube.cli.doctor.Doctor and Command) that take no value
_FLAGS = {"--json": "json", "-v": "verbose", "--verbose": "verbose"}
DRIVER_ENV = "ROOTLESSKUBE_DRIVER"


def plain_doctor(args: List[str]) -> bool:
    """`doctor` with only valid --json, -v and --driver NAME, each once: what the CLI accepts and runs as is."""
    from ..drivers import DRIVERS

    if not args or args[0] != "doctor":
        return False
    rest, driver, seen = list(args[1:]), None, set()
    while rest:
        arg = rest.pop(0)
        if arg in _FLAGS and _FLAGS[arg] not in seen:
            seen.add(_FLAGS[arg])
        elif arg == "--driver" and rest and driver is None:
            driver = rest.pop(0)
        elif arg.startswith("--driver=") and driver is None:
            driver = arg[len("--driver="):]
        else:
            return False  # --user, --host-root, --help, a typo, a repeated switch: the CLI decides
    if driver is None:
        driver = os.environ.get(DRIVER_ENV)
    return driver is None or driver.lower() in DRIVERS


def start(args: List[str]) -> None:
    global _podman
    if _podman is not None or not plain_doctor(args):
        return
    if os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        return
    from .probes import find_podman, podman_info

    if find_podman() is None:
        return
    _podman = _Pending(podman_info)


def take() -> Optional[_Pending]:
    """The early `podman info`, once (None when it was not started)."""
    global _podman
    future, _podman = _podman, None
    return future
