"""From the doctor's results and the host view, the list of actions. Pure: changes nothing.

A check that does not pass (`fail` or `warn`) gets its action where host_setup
has one; a failing check it has none for is listed as manual, with the doctor's fix.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from rootlesskube.host import content, fixes, ids, subids, users
from rootlesskube.host.content import Unparsable
from rootlesskube.host.model import FAIL, PASS, SKIP, CheckResult
from rootlesskube.host.readers import read_sysctl
from rootlesskube.host.sysctls import SYSCTLS
from rootlesskube.host.view import HostView

from . import facts, subid
from .atomic import read_text
from .model import REBOOT, RELOGIN, Action, FileChange
from .subid import UnparsableFile

SYSTEMD_SKIPPED = "systemd not present: skipped"
KERNEL_CMDLINE_FLAG = "--kernel-cmdline"
PACKAGES_FLAG = "--packages"

SUBID_FILES = {ids.SUBUID: (content.SUBUID, "--add-subuids"), ids.SUBGID: (content.SUBGID, "--add-subgids")}
PACKAGE_CHECKS = (ids.PODMAN, ids.NEWUIDMAP, ids.NEWGIDMAP, ids.NETWORK_HELPER)
PACKAGED_PROGRAMS = ("podman", "newuidmap", "slirp4netns", "fuse-overlayfs")
GRUB_MKCONFIG = {
    "apt": ("update-grub",),
    "zypper": ("grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"),
    "pacman": ("grub-mkconfig", "-o", "/boot/grub/grub.cfg"),
}


@dataclass(frozen=True)
class Target:
    """The user the host is prepared for."""

    name: str
    uid: int


@dataclass(frozen=True)
class Options:
    subid_count: int = content.SUBID_COUNT
    unprivileged_port_start: Optional[int] = None


def build_plan(checks: Iterable[CheckResult], view: HostView, user: Target, options: Options = Options()) -> List[Action]:
    checks = list(checks)
    unmet = {c.id: c for c in checks if c.status not in (PASS, SKIP)}  # fail or warn: act where host_setup can
    actions: List[Action] = []
    handled = set()

    def add(make: Callable[[], Optional[Action]], *check_ids: str) -> None:
        """Plan one action; a file it cannot parse refuses that action only, the rest is still planned."""
        handled.update(check_ids)
        try:
            action = make()
        except UnparsableFile as exc:
            named = [i for i in check_ids if i in unmet] or list(check_ids[:1])
            title = unmet[named[0]].title if named[0] in unmet else named[0]
            action = Action(",".join(named), title, refused=f"{exc}; {exc.hint}")
        if action is not None:
            actions.append(action)

    if ids.CGROUP_V2 in unmet:
        add(lambda: _kernel_cmdline(view), ids.CGROUP_V2)
    if ids.CGROUP_DELEGATION in unmet:
        add(lambda: _delegation(view), ids.CGROUP_DELEGATION)
    module_ids = sorted(i for i in unmet if i.startswith(ids.MODULE_PREFIX))
    device_modules = _device_modules(view, unmet)
    if module_ids or device_modules:
        modules = [i[len(ids.MODULE_PREFIX):] for i in module_ids] + list(device_modules.values())
        add(lambda: _modules(view, modules, module_ids + list(device_modules)), *module_ids, *device_modules)
    sysctl_ids = [i for i in SYSCTLS if i in unmet]
    if sysctl_ids or options.unprivileged_port_start is not None:
        add(lambda: _sysctls(view, sysctl_ids, options), *sysctl_ids, ids.SYSCTL_PORT_START)
    if ids.USERNS_APPARMOR in unmet:
        add(lambda: _apparmor(view, unmet[ids.USERNS_APPARMOR]), ids.USERNS_APPARMOR)
    for check_id in SUBID_FILES:
        if check_id in unmet:
            add(lambda c=check_id: _subids(view, user, options.subid_count, c), check_id)
    if ids.SESSION_LINGER in unmet:
        add(lambda: linger_action(view, user), ids.SESSION_LINGER)
    for check_id, device, kernel_name in ((ids.DEV_TUN, content.DEV_TUN, "tun"), (ids.DEV_FUSE, content.DEV_FUSE, "fuse")):
        if check_id in unmet:
            add(lambda c=check_id, d=device, k=kernel_name: _device(view, c, d, k), check_id)
    package_ids = [i for i in PACKAGE_CHECKS if i in unmet]
    if package_ids:
        add(lambda: _packages(view, ids.CGROUP_V2 in unmet, package_ids), *package_ids)
    for check_id, check in unmet.items():
        if check_id not in handled and check.status == FAIL:  # a warning host_setup cannot fix stays the doctor's
            actions.append(Action(check_id, check.title, manual=True,
                                  notes=(check.fix or check.detail or "no automatic fix",)))
    return actions


def _change(view: HostView, path: str, new_text_of, mode: int = 0o644) -> FileChange:
    old = read_text(view.path(path))
    try:
        new = new_text_of(old)
    except Unparsable as exc:
        raise UnparsableFile(f"cannot edit {path} {exc}",
                             hint="fix or remove that line by hand, then run this again; the file was not changed") from None
    existing = view.stat(path)
    return FileChange(path, old, new, stat.S_IMODE(existing.st_mode) if existing else mode)


def _kernel_cmdline(view: HostView) -> Action:
    family = facts.family(view)
    systemd = facts.systemd_present(view)
    args = content.cgroup_v2_kernel_args(systemd)
    joined = " ".join(args)
    title = f"boot with the unified cgroup v2 hierarchy ({joined} on the kernel command line)"
    notes = () if systemd else (content.CGROUP_V2_WITHOUT_SYSTEMD,)
    common = dict(then=REBOOT, requires=KERNEL_CMDLINE_FLAG, notes=notes)
    if family == "dnf":
        return Action(ids.CGROUP_V2, title, runs=(("grubby", "--update-kernel=ALL", f"--args={joined}"),), **common)
    if family in GRUB_MKCONFIG and view.exists(content.GRUB_DEFAULT):
        change = _change(view, content.GRUB_DEFAULT, lambda old: content.grub_default_with_args(old, args))
        return Action(ids.CGROUP_V2, title, writes=(change,), runs=(GRUB_MKCONFIG[family],), **common)
    where = (f"GRUB is not set up here ({content.GRUB_DEFAULT} is missing): " if family in GRUB_MKCONFIG
             else "unknown distribution: ")
    return Action(ids.CGROUP_V2, title, manual=True, then=REBOOT, notes=(
        where + f"add {joined} to the kernel command line of this host's boot loader "
        "(a VM: its kernel arguments), then reboot",) + notes)


def _delegation(view: HostView) -> Action:
    change = _change(view, content.DELEGATE_CONF, content.delegate_conf)
    title = "delegate the cpu, cpuset, io, memory and pids cgroup controllers to users"
    if facts.systemd_present(view):
        return Action(ids.CGROUP_DELEGATION, title, writes=(change,), runs=(("systemctl", "daemon-reload"),),
                      then=RELOGIN)
    return Action(ids.CGROUP_DELEGATION, title, writes=(change,), then=RELOGIN,
                  notes=(f"{SYSTEMD_SKIPPED}: systemctl daemon-reload",))


def _device_modules(view: HostView, unmet: Dict[str, CheckResult]) -> Dict[str, str]:
    """check id -> the module that provides its missing device node."""
    wanted = {}
    if ids.DEV_TUN in unmet and not view.exists(content.DEV_TUN):
        wanted[ids.DEV_TUN] = "tun"
    if ids.DEV_FUSE in unmet and not view.exists(content.DEV_FUSE):
        wanted[ids.DEV_FUSE] = "fuse"
    return wanted


def _modules(view: HostView, modules: List[str], check_ids: List[str]) -> Action:
    builtin = facts.builtin_modules(view)
    loadable = [m for m in dict.fromkeys(modules) if m not in builtin]
    notes = tuple(f"{m} is built into the kernel: not written" for m in modules if m in builtin)
    check_id = ",".join(check_ids)
    title = "load kernel modules now and at boot: " + " ".join(loadable)
    if not loadable:
        return Action(check_id, title, skipped="every module is built in", notes=notes)
    change = _change(view, content.MODULES_LOAD_CONF, lambda old: content.modules_load_conf(loadable, old))
    if facts.module_tree(view) is None:
        notes += (f"no module tree for kernel {facts.kernel_release(view) or '?'} (/lib/modules): modprobe "
                  "skipped; the modules load at the next boot of a kernel that has them",)
        return Action(check_id, title, writes=(change,), notes=notes)
    return Action(check_id, title, writes=(change,), runs=tuple(("modprobe", m) for m in loadable), notes=notes)


def _sysctls(view: HostView, sysctl_ids: List[str], options: Options) -> Optional[Action]:
    settings: Dict[str, str] = {}
    for check_id in sysctl_ids:
        settings.update((key, value) for key, value in SYSCTLS[check_id].items() if _below(view, key, value))
    if options.unprivileged_port_start is not None:
        settings["net.ipv4.ip_unprivileged_port_start"] = str(options.unprivileged_port_start)
    if not settings:
        return None  # every value is already at least ours
    change = _change(view, content.SYSCTL_CONF, lambda old: content.sysctl_conf(settings, old))
    runs = tuple(("sysctl", "-w", f"{key}={value}") for key, value in settings.items())
    check_id = ",".join(sysctl_ids) or ids.SYSCTL_PORT_START
    return Action(check_id, "set kernel parameters now and at boot: " + ", ".join(settings), writes=(change,), runs=runs)


def _below(view: HostView, key: str, value: str) -> bool:
    """Is the sysctl below our value (or unreadable)? A higher value the host already has is never lowered."""
    current, _ = read_sysctl(view, key)
    return current is None or current < int(value)


def _apparmor(view: HostView, check: CheckResult) -> Action:
    """A profile for each binary the doctor found without one (wherever it is installed)."""
    title = "allow user namespaces for the container tools through AppArmor profiles"
    binaries = check.subjects
    if not binaries:
        return Action(ids.USERNS_APPARMOR, title, skipped=f"the doctor names no binary without a profile: {check.detail}")
    writes, runs = [], []
    for binary in binaries:
        path = f"{content.APPARMOR_DIR}/{content.apparmor_profile_name(binary)}"
        writes.append(_change(view, path, lambda old, b=binary: content.apparmor_profile(b)))
        runs.append(("apparmor_parser", "-r", path))
    return Action(ids.USERNS_APPARMOR, title, writes=tuple(writes), runs=tuple(runs),
                  notes=("the userns restriction stays on for every other program",))


def subid_actions(view: HostView, user: Target, count: int) -> List[Action]:
    """One action per file (subuid, subgid); skipped when the user already has a usable range.

    UnparsableFile when either file has a line that is not an entry (nothing is changed then).
    """
    return [_subids(view, user, count, check_id) for check_id in SUBID_FILES]


def _subids(view: HostView, user: Target, count: int, check_id: str) -> Action:
    path, switch = SUBID_FILES[check_id]
    uid_text, gid_text = read_text(view.path(content.SUBUID)), read_text(view.path(content.SUBGID))
    uid_entries = subid.entries(uid_text, content.SUBUID)
    gid_entries = subid.entries(gid_text, content.SUBGID)
    own = uid_entries if path == content.SUBUID else gid_entries
    title = f"give {user.name} {count} subordinate {'uids' if path == content.SUBUID else 'gids'} that overlap nothing"
    real = users.real_ids(view)
    existing = subid.usable_range(own, user.name, user.uid, count, real)
    if existing is not None:
        return Action(check_id, title, skipped=f"{path} line {existing.line_no} already gives {user.name} "
                      f"{existing.start}-{existing.end - 1}")
    start = subid.common_free_start(uid_entries, gid_entries, count, real)
    line = content.subid_line(user.name, start, count).rstrip("\n")
    notes = tuple(f"{path} line {e.line_no} ({e.owner}:{e.start}:{e.count}) is kept; it is too small or overlaps "
                  "another range or real ids" for e in subids.entries_for(own, user.name, user.uid))
    if view.exists("/usr/sbin/usermod"):
        return Action(check_id, title, runs=(("usermod", switch, f"{start}-{start + count - 1}", user.name),),
                      adds=((path, line),), then=RELOGIN, notes=notes)
    change = _change(view, path, lambda old: content.add_subid_line(old, user.name, start, count))
    return Action(check_id, title, writes=(change,), adds=((path, line),), then=RELOGIN, notes=notes)


def linger_action(view: HostView, user: Target) -> Action:
    title = f"keep {user.name}'s user manager running without a login (lingering)"
    if not facts.systemd_present(view):
        return Action(ids.SESSION_LINGER, title, skipped=SYSTEMD_SKIPPED)
    return Action(ids.SESSION_LINGER, title, runs=(("loginctl", "enable-linger", user.name),))


def _device(view: HostView, check_id: str, device: str, kernel_name: str) -> Action:
    title = f"make {device} usable by users (mode 0666)"
    rule = content.UDEV_RULES[kernel_name]
    writes: Tuple[FileChange, ...] = ()
    notes: Tuple[str, ...] = ()
    if facts.udev_present(view):
        writes = (_change(view, rule, lambda old: content.device_udev_rule(kernel_name)),)
    else:
        notes = ("udev not present: the mode lasts until the device node is created again",)
    if not view.exists(device):
        notes += (f"{device} does not exist yet: the {kernel_name} module action creates it",)
        return Action(check_id, title, writes=writes, notes=notes)
    return Action(check_id, title, writes=writes, chmod=(device, 0o666), notes=notes)


def _packages(view: HostView, needs_runc: bool, package_ids: List[str]) -> Action:
    family = facts.family(view)
    title = "install podman, newuidmap/newgidmap, slirp4netns and fuse-overlayfs"
    if family is None:
        return Action(",".join(package_ids), title, manual=True,
                      notes=("unknown distribution: install these with its package manager",))
    programs = PACKAGED_PROGRAMS + (("runc",) if needs_runc else ())  # crun refuses hybrid cgroups
    argv = fixes.install_argv(family, programs)
    return Action(",".join(package_ids), title, runs=(tuple(argv),), requires=PACKAGES_FLAG)
