"""Small readers over a HostView that turn odd content into a message, not an exception."""

from __future__ import annotations

from typing import Optional, Tuple

from .view import HostView


def read_int(view: HostView, host_path: str) -> Tuple[Optional[int], Optional[str]]:
    """(value, None), or (None, problem) naming the file and line when missing or not a number.

    HostReadError (unreadable) propagates: the doctor turns it into a warning for the check.
    """
    line = view.read_first_line(host_path)
    if line is None:
        return None, f"{host_path} does not exist"
    try:
        return int(line.split()[0]), None
    except (ValueError, IndexError):
        return None, f"{host_path} line 1: {line!r} is not a number"


def sysctl_path(name: str) -> str:
    return "/proc/sys/" + name.replace(".", "/")


def read_sysctl(view: HostView, name: str) -> Tuple[Optional[int], Optional[str]]:
    return read_int(view, sysctl_path(name))


def kernel_release(view: HostView) -> Optional[str]:
    if view.live:
        import os

        return os.uname().release
    return view.read_first_line("/proc/sys/kernel/osrelease")


def architecture(view: HostView) -> Optional[str]:
    if view.live:
        import os

        return os.uname().machine
    return view.read_first_line("/proc/sys/kernel/arch")  # present since Linux 6.1


def systemd_init(view: HostView) -> bool:
    """Is systemd the init? /run/systemd/system (sd_booted()'s test); in an image: is systemd installed."""
    if view.exists("/run/systemd/system"):
        return True
    return not view.live and any(view.exists(p) for p in ("/usr/lib/systemd/systemd", "/lib/systemd/systemd"))
