"""Start `podman info` before the CLI framework is imported, when `doctor` will need it.

`podman info` is the slowest part of `doctor`; __main__ calls `start(args)`
first thing, so it runs while Python imports plumbum and the checks. Only
for the plain case: the caller's own live host (no --host-root, no --user,
not under sudo); the doctor uses the result only when its own rules agree.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from typing import List, Optional

_podman: Optional[Future] = None


def start(args: List[str]) -> None:
    global _podman
    if not args or args[0] != "doctor" or _podman is not None:
        return
    if any(a.startswith(("--host-root", "--user", "-h", "--help")) for a in args[1:]):
        return
    if os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        return
    from .probes import find_podman, podman_info

    if find_podman() is None:
        return
    future: Future = Future()

    def work():
        future.set_result(podman_info())

    threading.Thread(target=work, name="doctor-early-podman", daemon=True).start()
    _podman = future


def take() -> Optional[Future]:
    """The early `podman info`, once (None when it was not started)."""
    global _podman
    future, _podman = _podman, None
    return future
