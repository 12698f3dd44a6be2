"""The files host_setup would write on a fresh host where every file-fixable check fails.

A VM config cannot ask the doctor which checks fail, so it writes them all: the
cgroup delegation drop-in, the kernel modules every driver needs, the sysctls, and
the user's subordinate id range (the same range in /etc/subuid and /etc/subgid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..host import content, ids, subids
from ..host.content import SUBID_COUNT
from ..host.requirements import REQUIREMENTS
from ..host.sysctls import SYSCTLS

# On a fresh VM these are the sysctl checks that can fail; the user-namespace ones
# (userns.max, userns.debian-clone) are distribution defaults that a VM image already has.
SYSCTL_CHECKS = (ids.SYSCTL_INOTIFY, ids.SYSCTL_KEYS)
LINGER_DIR = "/var/lib/systemd/linger"
SUBID_FILES = (content.SUBUID, content.SUBGID)


@dataclass(frozen=True)
class HostFile:
    path: str
    contents: str
    mode: int = 0o644


def modules() -> Tuple[str, ...]:
    """Every module any driver requires, sorted (host_setup's order for failing module checks)."""
    return tuple(sorted({m for r in REQUIREMENTS.values() for m in r.modules}))


def sysctls(unprivileged_port_start: Optional[int]) -> Dict[str, str]:
    settings: Dict[str, str] = {}
    for check_id in SYSCTL_CHECKS:
        settings.update(SYSCTLS[check_id])
    if unprivileged_port_start is not None:
        settings["net.ipv4.ip_unprivileged_port_start"] = str(unprivileged_port_start)
    return settings


def subid_start(count: int = SUBID_COUNT) -> int:
    """The range host_setup gives the first user on a host with empty /etc/subuid and /etc/subgid."""
    return subids.free_range([], count)


def host_files(user: str, unprivileged_port_start: Optional[int] = None) -> List[HostFile]:
    """The system files for USER, with the contents host_setup writes on a fresh host."""
    start = subid_start()
    return [
        HostFile(content.DELEGATE_CONF, content.delegate_conf(None)),
        HostFile(content.MODULES_LOAD_CONF, content.modules_load_conf(modules())),
        HostFile(content.SYSCTL_CONF, content.sysctl_conf(sysctls(unprivileged_port_start))),
        HostFile(content.SUBUID, content.add_subid_line(None, user, start, SUBID_COUNT)),
        HostFile(content.SUBGID, content.add_subid_line(None, user, start, SUBID_COUNT)),
    ]


def linger_file(user: str) -> HostFile:
    """What `loginctl enable-linger USER` creates: the user's manager starts at boot."""
    return HostFile(f"{LINGER_DIR}/{user}", "")
