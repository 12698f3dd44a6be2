"""The few host facts the plan needs beyond the doctor's results, read through a HostView."""

from __future__ import annotations

import shlex
from typing import Dict, Optional, Set

from rootlesskube.host.view import HostView

DNF_FAMILY = {"fedora", "rhel", "centos", "rocky", "almalinux", "ol", "amzn"}
APT_FAMILY = {"debian", "ubuntu", "linuxmint", "pop", "raspbian"}
SUSE_FAMILY = {"suse", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "sles"}
ARCH_FAMILY = {"arch", "manjaro", "endeavouros"}


def os_release(view: HostView) -> Dict[str, str]:
    text = view.read("/etc/os-release") or view.read("/usr/lib/os-release") or ""
    values: Dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, raw = line.partition("=")
            try:
                parts = shlex.split(raw)
            except ValueError:
                continue
            values[key.strip()] = parts[0] if parts else ""
    return values


def family(view: HostView) -> Optional[str]:
    """"apt", "dnf", "zypper", "pacman" or None, from ID then ID_LIKE."""
    release = os_release(view)
    for ident in [release.get("ID", "")] + release.get("ID_LIKE", "").split():
        for name, members in (("apt", APT_FAMILY), ("dnf", DNF_FAMILY), ("zypper", SUSE_FAMILY), ("pacman", ARCH_FAMILY)):
            if ident in members:
                return name
    return None


def systemd_present(view: HostView) -> bool:
    # what sd_booted() tests: systemd is the running init
    return view.exists("/run/systemd/system")


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
