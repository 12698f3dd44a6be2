"""Session plumbing: XDG_RUNTIME_DIR, lingering, and whether this is a real login session of the user."""

from __future__ import annotations

import os
import stat

from . import fixes, ids
from .context import Context, produces
from .model import FAIL, PASS, SKIP, WARN, CheckResult

NO_LOGINUID = 4294967295  # (uid_t)-1: the process never went through a login


@produces(ids.SESSION_XDG_RUNTIME_DIR)
def check_xdg_runtime_dir(ctx: Context) -> CheckResult:
    title = "XDG_RUNTIME_DIR set and owned by the user"
    reason = ctx.user_reason()
    if reason:
        return CheckResult(ids.SESSION_XDG_RUNTIME_DIR, SKIP, title, reason)
    value = os.environ.get("XDG_RUNTIME_DIR")
    if not value:
        return CheckResult(ids.SESSION_XDG_RUNTIME_DIR, WARN, title,
                           "XDG_RUNTIME_DIR is not set: no login session of yours (Podman falls back to "
                           f"/tmp/podman-run-{ctx.user.uid} and the cgroupfs manager)",
                           fixes.login_session(ctx.user.name))
    try:
        info = os.stat(value)
    except OSError as exc:
        return CheckResult(ids.SESSION_XDG_RUNTIME_DIR, FAIL, title,
                           f"XDG_RUNTIME_DIR={value}: {exc.strerror}", fixes.login_session(ctx.user.name))
    detail = f"XDG_RUNTIME_DIR={value}: {stat.filemode(info.st_mode)} owner uid {info.st_uid}"
    if info.st_uid != ctx.user.uid or not os.access(value, os.W_OK):
        return CheckResult(ids.SESSION_XDG_RUNTIME_DIR, FAIL, title,
                           f"{detail}: not yours or not writable (Podman: 'RunRoot is pointing to a path which is "
                           "not writable')", fixes.login_session(ctx.user.name))
    return CheckResult(ids.SESSION_XDG_RUNTIME_DIR, PASS, title, detail)


@produces(ids.SESSION_LINGER)
def check_linger(ctx: Context) -> CheckResult:
    title = "Lingering (the cluster survives logout)"
    path = f"/var/lib/systemd/linger/{ctx.user.name}"
    if not ctx.systemd():
        return CheckResult(ids.SESSION_LINGER, SKIP, title,
                           "no systemd on this host: lingering is a systemd-logind feature")
    if ctx.view.exists(path):
        return CheckResult(ids.SESSION_LINGER, PASS, title, f"{path} exists")
    return CheckResult(ids.SESSION_LINGER, WARN, title, f"{path} does not exist: lingering is off",
                       fixes.linger(ctx.user.name))


@produces(ids.SESSION_LOGIN)
def check_login(ctx: Context) -> CheckResult:
    title = "A login session of the user (not su/sudo)"
    reason = ctx.user_reason()
    if reason:
        return CheckResult(ids.SESSION_LOGIN, SKIP, title, reason)
    line = ctx.view.read_first_line("/proc/self/loginuid")
    sudo_user = os.environ.get("SUDO_USER")
    if line is None or not line.isdigit():
        return CheckResult(ids.SESSION_LOGIN, WARN, title, f"/proc/self/loginuid unreadable ({line!r})",
                           fixes.login_session(ctx.user.name))
    loginuid = int(line)
    if loginuid == ctx.user.uid and not sudo_user:
        return CheckResult(ids.SESSION_LOGIN, PASS, title, f"/proc/self/loginuid = {loginuid}: your own login")
    if loginuid == NO_LOGINUID:
        found = "/proc/self/loginuid is unset: this process did not start from a login (a service, cron, a container)"
    else:
        found = f"/proc/self/loginuid = {loginuid}: entered via su/sudo from uid {loginuid}'s session"
    if sudo_user:
        found += f" (SUDO_USER={sudo_user})"
    return CheckResult(ids.SESSION_LOGIN, WARN, title, found, fixes.login_session(ctx.user.name))


CHECKS = [check_xdg_runtime_dir, check_linger, check_login]
