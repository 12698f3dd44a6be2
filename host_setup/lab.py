"""A workshop host: many users, each with its own subid ranges and block of host ports.

The roster (JSON or CSV, by the file's suffix) is the memory between runs:
re-running with more users keeps every assignment already in it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
from typing import Callable, Dict, List, Optional

from rootlesskube.errors import UsageError
from rootlesskube.host import content, users
from rootlesskube.host.view import HostView
from rootlesskube.recipe.roster import Assignment

from . import atomic, subid
from .apply import Runner, apply_plan
from .plan import Target, linger_action, subid_actions

FIRST_PORT = 20000
# Usernetes publishes 6443, 10250, 2379 and 8472/udp; kind and minikube need an API port.
MIN_PORTS_PER_USER = 5


def lab_users(users: Optional[str], count: Optional[int], prefix: str) -> List[str]:
    from rootlesskube import names

    if users and count:
        raise UsageError("lab takes either --users or --count, not both",
                         hint="name the users (--users a,b,c) or number them (--count N --prefix P)")
    if users:
        wanted = [u.strip() for u in users.split(",") if u.strip()]
    elif count:
        wanted = [f"{prefix}{n}" for n in range(1, count + 1)]
    else:
        raise UsageError("lab needs the users: --users a,b,c or --count N [--prefix P]",
                         hint="see 'rootlesskube-host-setup lab --help'")
    for name in wanted:
        names.user_name(name)
    return list(dict.fromkeys(wanted))


def port_block(taken: List[Assignment], per_user: int, first_port: int = FIRST_PORT) -> range:
    """The lowest block of per_user ports that no assignment uses."""
    start = first_port
    for other in sorted(taken, key=lambda a: a.port_first):
        if start <= other.port_last and other.port_first < start + per_user:
            start = other.port_last + 1
    if start + per_user - 1 > 65535:
        raise UsageError(f"no block of {per_user} ports is left below 65536", hint="use fewer --ports-per-user")
    return range(start, start + per_user)


def prepare_lab(view: HostView, wanted: List[str], roster: List[Assignment], per_user: int, subid_count: int,
                create_user: Callable[[str], None], runner: Runner) -> List[Assignment]:
    """Create missing users, give each subid ranges, lingering and a port block; the new roster."""
    kept: Dict[str, Assignment] = {a.user: a for a in roster}
    result = list(roster)
    for name in wanted:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            create_user(name)
            entry = pwd.getpwnam(name)
        target = Target(name, entry.pw_uid)
        apply_plan(subid_actions(view, target, subid_count) + [linger_action(view, target)], view, runner=runner)
        real = users.real_ids(view)
        uid_range = subid.usable_range(subid.entries(atomic.read_text(view.path(content.SUBUID)), content.SUBUID),
                                       name, entry.pw_uid, subid_count, real)
        gid_range = subid.usable_range(subid.entries(atomic.read_text(view.path(content.SUBGID)), content.SUBGID),
                                       name, entry.pw_uid, subid_count, real)
        old = kept.get(name)
        ports = (range(old.port_first, old.port_last + 1) if old
                 else port_block(result, per_user))
        assignment = Assignment(name, entry.pw_uid, uid_range.start, uid_range.count, gid_range.start,
                                gid_range.count, ports[0], ports[-1])
        if old is None:
            result.append(assignment)
        else:
            result = [assignment if a.user == name else a for a in result]
    return result


# --- start each user's cluster at boot (--start-at-boot) ---
USER_UNIT_PARTS = (".config", "systemd", "user")
WANTS = "default.target.wants"  # what `systemctl --user enable` links for WantedBy=default.target


def install_user_unit(home: str, uid: int, gid: int, unit_name: str, text: str) -> bool:
    """Write ~/.config/systemd/user/UNIT_NAME and enable it (the default.target.wants link `systemctl --user
    enable` makes), owned by the user. Root writes in a folder the user controls, so every folder is opened
    relative to the one above with O_NOFOLLOW: a link the user planted is refused, never followed.
    Returns False when both were already in place."""
    fds = [_open_owned_dir(None, home, uid, gid, create=False)]
    try:
        for part in USER_UNIT_PARTS:
            fds.append(_open_owned_dir(fds[-1], part, uid, gid))
        unit_dir = fds[-1]
        changed = _write_owned(unit_dir, unit_name, text.encode(), uid, gid)
        fds.append(_open_owned_dir(unit_dir, WANTS, uid, gid))
        link = f"../{unit_name}"
        try:
            current = os.readlink(unit_name, dir_fd=fds[-1])
        except FileNotFoundError:
            current = None
        except OSError as exc:
            raise UsageError(f"{home}/.config/systemd/user/{WANTS}/{unit_name} is not a link ({exc.strerror})",
                             hint="remove it, then run lab again") from None
        if current != link:
            if current is not None:
                os.unlink(unit_name, dir_fd=fds[-1])
            os.symlink(link, unit_name, dir_fd=fds[-1])
            os.chown(unit_name, uid, gid, dir_fd=fds[-1], follow_symlinks=False)
            changed = True
        return changed
    finally:
        for fd in fds:
            os.close(fd)


def _open_owned_dir(parent: Optional[int], name: str, uid: int, gid: int, create: bool = True) -> int:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    if create:
        try:
            os.mkdir(name, 0o755, dir_fd=parent)
            os.chown(name, uid, gid, dir_fd=parent, follow_symlinks=False)
        except FileExistsError:
            pass
    try:
        fd = os.open(name, flags, dir_fd=parent)
    except OSError as exc:
        raise UsageError(f"cannot enter {name!r} in the user's home safely: {exc.strerror} (a link or not a folder?)",
                         hint="make it a plain folder the user owns, then run lab again") from None
    if os.fstat(fd).st_uid != uid:
        os.close(fd)
        raise UsageError(f"{name!r} in the home of uid {uid} belongs to someone else",
                         hint="give it to the user (chown), then run lab again")
    return fd


def _write_owned(dir_fd: int, name: str, data: bytes, uid: int, gid: int) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
        with os.fdopen(fd, "rb") as current:
            if current.read() == data:
                return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise UsageError(f"cannot read {name!r} in the user's unit folder: {exc.strerror}",
                         hint="remove it, then run lab again") from None
    temp = f".{name}.rootlesskube-tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp, dir_fd=dir_fd)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fchown(out.fileno(), uid, gid)
        os.fsync(out.fileno())
    os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    return True


USER_PLACEHOLDER = "{user}"  # --start-at-boot 'lab-{user}': the lab recipe's cluster of each user


def boot_cluster(cluster: str, user: str) -> str:
    """The cluster name for USER (the placeholder replaced), checked as a DNS-1123 label."""
    from rootlesskube.names import dns1123_label

    return dns1123_label(cluster.replace(USER_PLACEHOLDER, user), f"cluster name for {user}")


def start_at_boot(cluster: str, roster: List[Assignment], systemd: bool) -> List[str]:
    """Install and enable every roster user's rootlesskube-cluster-CLUSTER.service; one line per user."""
    from rootlesskube.export import systemd_unit

    lines = []
    for assignment in roster:
        name = boot_cluster(cluster, assignment.user)
        unit_name = systemd_unit.cluster_unit_name(name)
        if not systemd:
            lines.append(f"{assignment.user}: skipped, systemd is not running here (no user manager starts {unit_name})")
            continue
        entry = pwd.getpwnam(assignment.user)
        changed = install_user_unit(entry.pw_dir, entry.pw_uid, entry.pw_gid, unit_name,
                                    systemd_unit.cluster_unit(name))
        lines.append(f"{assignment.user}: {unit_name} {'installed and enabled' if changed else 'already enabled'}")
    return lines
