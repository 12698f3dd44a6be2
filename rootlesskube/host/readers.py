"""Small readers over a HostView that turn odd content into a message, not an exception."""

from __future__ import annotations

from typing import Optional, Tuple

from .view import HostReadError, HostView

MAX_HOST_FILE = 1024 * 1024
"""The largest host file read under --host-root (1 MiB: /etc/subuid of thousands of users is far below)."""


def read_bounded(path, host_path: str) -> str:
    """A host file under a --host-root: a regular file of at most MAX_HOST_FILE bytes, opened without
    blocking; FileNotFoundError when absent, HostReadError (a warning in the doctor) otherwise."""
    import errno
    import os
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise FileNotFoundError(exc.errno, exc.strerror) from None
        raise HostReadError(host_path, exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise HostReadError(host_path, "Is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise HostReadError(host_path, "not a regular file (a FIFO, socket or device)")
        data = os.read(fd, MAX_HOST_FILE + 1)
        while len(data) <= MAX_HOST_FILE:
            more = os.read(fd, MAX_HOST_FILE + 1 - len(data))
            if not more:
                break
            data += more
        if len(data) > MAX_HOST_FILE:
            raise HostReadError(host_path, f"larger than the limit of {MAX_HOST_FILE} bytes (1 MiB)")
        return data.decode("utf-8", errors="replace")
    except OSError as exc:
        raise HostReadError(host_path, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


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
