"""The content of every system file rootlesskube asks for, as pure functions.

`rootlesskube-host-setup` (root) writes these files, the doctor's fixes name them,
and `rootlesskube export` writes the same files into a VM config. The unprivileged
tool owns this module and host_setup imports it, never the other way. Nothing here
reads or writes the host: text in, text out.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Mapping, Optional

DELEGATE_CONF = "/etc/systemd/system/user@.service.d/delegate.conf"
MODULES_LOAD_CONF = "/etc/modules-load.d/rootlesskube.conf"
SYSCTL_CONF = "/etc/sysctl.d/99-rootlesskube.conf"
TUN_UDEV_RULE = "/etc/udev/rules.d/70-rootlesskube-tun.rules"
FUSE_UDEV_RULE = "/etc/udev/rules.d/70-rootlesskube-fuse.rules"
SUBUID = "/etc/subuid"
SUBGID = "/etc/subgid"
SUBID_COUNT = 65536  # ids per user in /etc/subuid and /etc/subgid, as useradd gives
GRUB_DEFAULT = "/etc/default/grub"
APPARMOR_DIR = "/etc/apparmor.d"
DEV_TUN = "/dev/net/tun"
DEV_FUSE = "/dev/fuse"

DELEGATE_CONTROLLERS = ("cpu", "cpuset", "io", "memory", "pids")
CGROUP_V2_KERNEL_ARG = "systemd.unified_cgroup_hierarchy=1"  # read by systemd, which mounts the hierarchy
CGROUP_NO_V1_KERNEL_ARG = "cgroup_no_v1=all"  # read by the kernel: no controller on a v1 hierarchy
CGROUP_V2_WITHOUT_SYSTEMD = (
    f"This host does not boot with systemd, so {CGROUP_V2_KERNEL_ARG} would be ignored: "
    f"{CGROUP_NO_V1_KERNEL_ARG} keeps every controller off cgroup v1; then mount cgroup2 at /sys/fs/cgroup "
    "(mount -t cgroup2 none /sys/fs/cgroup) from your init.")
HEADER = "# Written by rootlesskube-host-setup; lines it did not write are kept as they are.\n"


class Unparsable(ValueError):
    """A file host_setup must edit has a line it does not understand."""

    def __init__(self, line_no: int, line: str, reason: str):
        super().__init__(f"line {line_no}: {reason}: {line!r}")
        self.line_no = line_no
        self.line = line
        self.reason = reason


def _lines(text: Optional[str]) -> List[str]:
    """Lines with their endings; a missing final newline is added."""
    if not text:
        return []
    if not text.endswith("\n"):
        text += "\n"
    return text.splitlines(keepends=True)


def delegate_conf(existing: Optional[str]) -> str:
    """A user@.service drop-in delegating DELEGATE_CONTROLLERS, merged with an existing one.

    Controllers already delegated stay (in their order, then ours); `Delegate=yes`
    already delegates everything and is left alone. Other lines are kept.
    """
    lines = _lines(existing)
    delegate_at = None
    in_service = False
    service_at = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            in_service = stripped == "[Service]"
            if in_service and service_at is None:
                service_at = index
        elif in_service and re.match(r"Delegate\s*=", stripped):
            delegate_at = index  # systemd: the last assignment wins
    if delegate_at is not None:
        value = lines[delegate_at].split("=", 1)[1].split()
        if [v.lower() for v in value] in (["yes"], ["true"], ["1"], ["on"]):
            return "".join(lines)
        merged = [v for v in value if v.lower() not in ("no", "false", "0", "off")]
        merged += [c for c in DELEGATE_CONTROLLERS if c not in merged]
        lines[delegate_at] = "Delegate=" + " ".join(merged) + "\n"
        return "".join(lines)
    new_line = "Delegate=" + " ".join(DELEGATE_CONTROLLERS) + "\n"
    if service_at is not None:
        lines.insert(service_at + 1, new_line)
        return "".join(lines)
    if not lines:
        lines.append(HEADER)
    return "".join(lines) + "[Service]\n" + new_line


def modules_load_conf(modules: Iterable[str], existing: Optional[str] = None) -> str:
    """modules-load.d content: the existing lines, then each module not yet listed."""
    lines = _lines(existing) or [HEADER]
    listed = {line.strip() for line in lines if line.strip() and not line.lstrip().startswith(("#", ";"))}
    for module in modules:
        if module not in listed:
            lines.append(module + "\n")
            listed.add(module)
    return "".join(lines)


def sysctl_conf(settings: Mapping[str, str], existing: Optional[str] = None) -> str:
    """sysctl.d content: existing keys we set get our value, new keys are appended."""
    lines = _lines(existing) or [HEADER]
    pending: Dict[str, str] = dict(settings)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if "=" not in stripped:
            raise Unparsable(index + 1, line.rstrip("\n"), "expected 'key = value'")
        key = stripped.split("=", 1)[0].strip().lstrip("-")
        if key in pending:
            lines[index] = f"{key} = {pending.pop(key)}\n"
    lines += [f"{key} = {value}\n" for key, value in pending.items()]
    return "".join(lines)


def subid_line(user: str, start: int, count: int) -> str:
    """One /etc/subuid or /etc/subgid line."""
    return f"{user}:{start}:{count}\n"


def add_subid_line(existing: Optional[str], user: str, start: int, count: int) -> str:
    """The file with one range appended; every existing byte kept."""
    text = existing or ""
    if text and not text.endswith("\n"):
        text += "\n"
    return text + subid_line(user, start, count)


UDEV_RULES = {"tun": TUN_UDEV_RULE, "fuse": FUSE_UDEV_RULE}


def device_udev_line(kernel_name: str) -> str:
    """The rule that keeps a misc device (tun, fuse) usable by users (0666) across reboots."""
    return f'KERNEL=="{kernel_name}", SUBSYSTEM=="misc", MODE="0666"'


def device_udev_rule(kernel_name: str) -> str:
    """The udev rules file host_setup writes for a misc device."""
    return HEADER + device_udev_line(kernel_name) + "\n"


def tun_udev_rule() -> str:
    return device_udev_rule("tun")


def apparmor_profile_name(binary_path: str) -> str:
    """The profile file name AppArmor uses for a path: /usr/bin/podman -> usr.bin.podman."""
    return binary_path.strip("/").replace("/", ".")


def apparmor_profile(binary_path: str) -> str:
    """An unconfined profile that allows user namespaces for one binary.

    This is the safe fix for Ubuntu's apparmor_restrict_unprivileged_userns:
    the restriction stays on for everything else.
    """
    name = apparmor_profile_name(binary_path)
    return (
        HEADER
        + "abi <abi/4.0>,\n"
        + "include <tunables/global>\n\n"
        + f'profile rootlesskube-{name} "{binary_path}" flags=(unconfined) {{\n'
        + "  userns,\n\n"
        + f"  include if exists <local/{name}>\n"
        + "}\n"
    )


def cgroup_v2_kernel_args(systemd: bool) -> List[str]:
    """The kernel command-line words that give the unified cgroup v2 hierarchy (the doctor's fix and the plan's)."""
    return [CGROUP_V2_KERNEL_ARG] if systemd else [CGROUP_NO_V1_KERNEL_ARG]


# A quoted value without expansions or escapes, or a bare word; anything else is not ours to rewrite.
_GRUB_CMDLINE = re.compile(r"""^GRUB_CMDLINE_LINUX=(?:"([^"$`\\]*)"|'([^']*)'|([^\s"'$`\\]*))\s*$""")


def grub_default_with_arg(existing: Optional[str], arg: str = CGROUP_V2_KERNEL_ARG) -> str:
    """/etc/default/grub with ARG added to GRUB_CMDLINE_LINUX (the last assignment)."""
    lines = _lines(existing)
    at = None
    for index, line in enumerate(lines):
        if line.startswith("GRUB_CMDLINE_LINUX="):
            if not _GRUB_CMDLINE.match(line.rstrip("\n")):
                raise Unparsable(index + 1, line.rstrip("\n"), "cannot read this GRUB_CMDLINE_LINUX value")
            at = index
    if at is None:
        return "".join(lines) + f'GRUB_CMDLINE_LINUX="{arg}"\n'
    match = _GRUB_CMDLINE.match(lines[at].rstrip("\n"))
    words = (match.group(1) or match.group(2) or match.group(3) or "").split()
    if arg in words:
        return "".join(lines)
    quote = "'" if match.group(2) is not None else '"'
    lines[at] = f"GRUB_CMDLINE_LINUX={quote}{' '.join(words + [arg])}{quote}\n"
    return "".join(lines)


def grub_default_with_args(existing: Optional[str], args: Iterable[str]) -> str:
    """/etc/default/grub with each of ARGS in GRUB_CMDLINE_LINUX."""
    text = existing
    for arg in args:
        text = grub_default_with_arg(text, arg)
    return text if text is not None else ""
