"""The sysctl settings that fix each check: what `rootlesskube-host-setup apply` sets and
what an exported VM config writes, the doctor's own minimums (one source for all three)."""

from __future__ import annotations

from typing import Dict

from . import check_system, ids

SYSCTLS: Dict[str, Dict[str, str]] = {
    ids.USERNS_MAX: {"user.max_user_namespaces": "28633"},
    ids.USERNS_DEBIAN_CLONE: {"kernel.unprivileged_userns_clone": "1"},
    ids.SYSCTL_INOTIFY: {key: str(value) for key, value in check_system.INOTIFY.items()},
    ids.SYSCTL_KEYS: {key: str(value) for key, value in check_system.KEYS.items()},
}
