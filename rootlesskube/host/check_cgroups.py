"""cgroup v2 (pure unified, not v1, not hybrid) and controller delegation to the user."""

from __future__ import annotations

from typing import List, Optional, Set, Tuple

from . import fixes, ids
from .context import Context, produces
from .model import FAIL, PASS, WARN, CheckResult

CGROUP = "/sys/fs/cgroup"
DROPIN_DIRS = ("/etc/systemd/system/user@.service.d", "/etc/systemd/system/user@{uid}.service.d")
ALL_CONTROLLERS = ("cpu", "cpuset", "io", "memory", "pids")
V2, HYBRID, V1, NONE = "v2", "hybrid", "v1", "none"


def cgroup_mode(ctx: Context) -> Tuple[str, str]:
    """(mode, what was found where) for /sys/fs/cgroup."""
    view = ctx.view
    if view.exists(f"{CGROUP}/cgroup.controllers"):
        return V2, f"unified cgroup v2 at {CGROUP} ({CGROUP}/cgroup.controllers: " \
                   f"{view.read_first_line(f'{CGROUP}/cgroup.controllers') or 'empty'})"
    v1 = [d for d in view.listdir(CGROUP) if d != "unified" and view.path(f"{CGROUP}/{d}").is_dir()]
    if view.exists(f"{CGROUP}/unified/cgroup.controllers"):
        unified = view.read_first_line(f"{CGROUP}/unified/cgroup.controllers") or ""
        return HYBRID, (f"hybrid: cgroup v1 hierarchies at {CGROUP}/{{{','.join(v1)}}} and cgroup2 at "
                        f"{CGROUP}/unified with only {unified!r} (its cgroup.controllers)")
    if v1:
        return V1, f"cgroup v1: hierarchies at {CGROUP}/{{{','.join(v1)}}}, no {CGROUP}/cgroup.controllers"
    return NONE, f"nothing mounted at {CGROUP} (no cgroup.controllers, no hierarchies)"


@produces(ids.CGROUP_V2)
def check_v2(ctx: Context) -> CheckResult:
    title = "cgroup v2 unified hierarchy"
    mode, detail = cgroup_mode(ctx)
    if mode == V2:
        return CheckResult(ids.CGROUP_V2, PASS, title, detail)
    systemd = ctx.systemd()
    note = None if systemd else fixes.CGROUP_V2_WITHOUT_SYSTEMD
    return CheckResult(ids.CGROUP_V2, FAIL, title,
                       f"{detail}; rootless kind, minikube and Usernetes need pure cgroup v2",
                       fixes.kernel_arguments(ctx.distro, fixes.cgroup_v2_kernel_args(systemd), note))


def configured_controllers(ctx: Context) -> Tuple[Set[str], List[str]]:
    """Controllers delegated by user@.service drop-ins, and the files that say so."""
    controllers: Set[str] = set()
    files: List[str] = []
    for folder in DROPIN_DIRS:
        folder = folder.format(uid=ctx.user.uid)
        for name in ctx.view.listdir(folder):
            if not name.endswith(".conf"):
                continue
            text = ctx.view.read(f"{folder}/{name}") or ""
            for line in text.splitlines():
                key, _, value = line.strip().partition("=")
                if key.strip() == "Delegate":
                    value = value.strip()
                    words = set(ALL_CONTROLLERS) if value.lower() in ("yes", "true", "1", "on") else set(value.split())
                    controllers |= words
                    files.append(f"{folder}/{name}")
    return controllers, files


def _controllers(ctx: Context, host_path: str) -> Optional[Set[str]]:
    line = ctx.view.read(host_path)
    return None if line is None else set(line.split())


def process_cgroup(ctx: Context) -> Optional[str]:
    """The unified-hierarchy cgroup of this process (`0::<path>` in /proc/self/cgroup)."""
    for line in (ctx.view.read("/proc/self/cgroup") or "").splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None


@produces(ids.CGROUP_DELEGATION)
def check_delegation(ctx: Context) -> CheckResult:
    title = "cgroup controllers delegated to the user"
    uid, user = ctx.user.uid, ctx.user.name
    needed = ctx.req.controllers
    wanted = needed + ctx.req.recommended_controllers
    delegate_fix = fixes.delegate_conf(ALL_CONTROLLERS, user)
    mode, _ = cgroup_mode(ctx)
    if not ctx.systemd():
        where = "/run/systemd/system is missing" if ctx.view.live else "no systemd in the host root"
        return CheckResult(ids.CGROUP_DELEGATION, FAIL, title,
                           f"no systemd ({where}): there is no user@{uid}.service to delegate "
                           f"{' '.join(needed)} to; cgroups are {mode}",
                           fixes.as_root(["boot with systemd as init (rootless kind, minikube and Usernetes "
                                          "rely on the systemd user manager for delegated controllers)"],
                                         "Then configure delegation: rerun `rootlesskube doctor`.",
                                         host_setup=False))
    if mode != V2:
        return CheckResult(ids.CGROUP_DELEGATION, FAIL, title,
                           f"cgroups are {mode}: controllers can be delegated only on cgroup v2 (see {ids.CGROUP_V2})",
                           "fix cgroup.v2 first, then rerun `rootlesskube doctor`")
    configured, files = configured_controllers(ctx)
    service = f"{CGROUP}/user.slice/user-{uid}.slice/user@{uid}.service/cgroup.controllers"
    active = _controllers(ctx, service)
    said = f"configured: {' '.join(sorted(configured)) or 'nothing'} ({', '.join(files) or 'no drop-in'})"
    if active is None:
        return CheckResult(ids.CGROUP_DELEGATION, FAIL, title,
                           f"{service} does not exist: user@{uid}.service is not running (no login session "
                           f"of {user}, lingering off); {said}",
                           fixes.linger(user) + "\nor log in as " + user + " (ssh, or a graphical login)")
    missing = [c for c in needed if c not in active]
    detail = f"{service}: {' '.join(sorted(active)) or 'empty'}; {said}"
    if missing:
        if all(c in configured for c in missing):
            return CheckResult(ids.CGROUP_DELEGATION, FAIL, title,
                               f"{detail}; {' '.join(missing)} configured but not active: a re-login or "
                               "reboot is needed",
                               fixes.as_root([f"loginctl terminate-user {user}"],
                                             f"Then log in again as {user}; or reboot the host (recommended)",
                                             host_setup=False))
        return CheckResult(ids.CGROUP_DELEGATION, FAIL, title, f"{detail}; not delegated: {' '.join(missing)}",
                           delegate_fix)
    own = process_cgroup(ctx) if ctx.user_reason() is None else None
    if own is not None:
        own_file = f"{CGROUP}{own.rstrip('/')}/cgroup.controllers"
        mine = _controllers(ctx, own_file) or set()
        lacking = [c for c in needed if c not in mine]
        if lacking:
            return CheckResult(ids.CGROUP_DELEGATION, FAIL, title,
                               f"{detail}; but this process's cgroup ({own_file}) has only "
                               f"{' '.join(sorted(mine)) or 'none'}, lacking {' '.join(lacking)}: kind and podman "
                               "read the controllers of the process that runs them (a su/sudo shell is not in "
                               "your user manager's tree)",
                               fixes.login_session(user))
        detail += f"; this process ({own_file}): {' '.join(sorted(mine))}"
    absent = [c for c in wanted if c not in active]
    if absent:
        return CheckResult(ids.CGROUP_DELEGATION, WARN, title,
                           f"{detail}; recommended but not delegated: {' '.join(absent)}", delegate_fix)
    return CheckResult(ids.CGROUP_DELEGATION, PASS, title, detail)


CHECKS = [check_v2, check_delegation]
