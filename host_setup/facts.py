"""The few host facts the plan needs beyond the doctor's results, read through a HostView."""

from __future__ import annotations

from typing import Optional, Set

from rootlesskube.host import fixes, readers
from rootlesskube.host.view import HostView


def family(view: HostView) -> Optional[str]:
    """"apt", "dnf", "zypper", "pacman" or None, as the doctor's fixes read it."""
    return fixes.detect(view).family


def systemd_present(view: HostView) -> bool:
    """The doctor's answer (sd_booted()'s test; in an image: systemd installed), so plan and doctor agree."""
    return readers.systemd_init(view)


def udev_present(view: HostView) -> bool:
    return view.exists("/run/udev") or view.exists("/etc/udev/rules.d")


def kernel_release(view: HostView) -> str:
    return view.read_first_line("/proc/sys/kernel/osrelease") or ""


def module_tree(view: HostView) -> Optional[str]:
    """/lib/modules/<release> when the running kernel's modules are installed."""
    path = f"/lib/modules/{kernel_release(view)}"
    return path if kernel_release(view) and view.exists(path) else None


def builtin_modules(view: HostView) -> Set[str]:
    tree = module_tree(view)
    text = view.read(f"{tree}/modules.builtin") if tree else None
    names = set()
    for line in (text or "").splitlines():
        base = line.strip().rsplit("/", 1)[-1]
        if base.endswith(".ko"):
            names.add(base[:-3].replace("-", "_"))
    return names
