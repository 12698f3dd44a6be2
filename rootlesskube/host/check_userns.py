"""User namespaces: the kernel limit, Debian's switch, Ubuntu's AppArmor restriction."""

from __future__ import annotations

import fnmatch
import re
from typing import Dict, List

from . import fixes, ids
from .context import Context, produces
from .model import FAIL, PASS, WARN, CheckResult
from .readers import read_sysctl

MAX_USERNS_LOW = 1024  # RootlessKit warns below this
USERNS_CALLERS = ("podman", "crun", "runc", "slirp4netns", "pasta", "rootlesskit")
APPARMOR_DIR = "/etc/apparmor.d"
# a profile header with its attachment path, bare or quoted (AppArmor allows both):
#   /usr/bin/crun flags=(unconfined) {      profile podman "/usr/local/bin/podman" {
_HEADER = re.compile(r'^\s*(?:profile\s+(?:"[^"]*"|\S+)\s+)?(?:"(/[^"]*)"|(/\S+))\s*(?:flags\s*=\s*\([^)]*\)\s*)?\{')
UNCOVERED = "no profile allows user namespaces for: "


@produces(ids.USERNS_MAX)
def check_max(ctx: Context) -> CheckResult:
    name, title = "user.max_user_namespaces", "User namespaces allowed"
    value, problem = read_sysctl(ctx.view, name)
    fix = fixes.sysctl({name: "28633"})
    if problem and "does not exist" in problem:
        return CheckResult(ids.USERNS_MAX, FAIL, title,
                           f"{problem}: this kernel has no user namespaces (CONFIG_USER_NS)",
                           fixes.as_root(["boot a kernel built with CONFIG_USER_NS=y"], fixes.REBOOT, host_setup=False))
    if problem:
        return CheckResult(ids.USERNS_MAX, WARN, title, problem, fix)
    detail = f"{name} = {value} (/proc/sys/user/max_user_namespaces)"
    if value == 0:
        return CheckResult(ids.USERNS_MAX, FAIL, title, f"{detail}: user namespaces are disabled", fix)
    if value < MAX_USERNS_LOW:
        return CheckResult(ids.USERNS_MAX, WARN, title, f"{detail}: may be too low (< {MAX_USERNS_LOW})", fix)
    return CheckResult(ids.USERNS_MAX, PASS, title, detail)


@produces(ids.USERNS_DEBIAN_CLONE)
def check_debian_clone(ctx: Context) -> CheckResult:
    name, title = "kernel.unprivileged_userns_clone", "Unprivileged user namespaces (Debian switch)"
    value, problem = read_sysctl(ctx.view, name)
    fix = fixes.sysctl({name: "1"})
    if problem and "does not exist" in problem:
        return CheckResult(ids.USERNS_DEBIAN_CLONE, PASS, title,
                           "/proc/sys/kernel/unprivileged_userns_clone does not exist: this kernel has no such "
                           "switch, unprivileged user namespaces are not gated by it")
    if problem:
        return CheckResult(ids.USERNS_DEBIAN_CLONE, WARN, title, problem, fix)
    detail = f"{name} = {value} (/proc/sys/kernel/unprivileged_userns_clone)"
    if value != 1:
        return CheckResult(ids.USERNS_DEBIAN_CLONE, FAIL, title, f"{detail}: unprivileged users cannot create "
                           "user namespaces", fix)
    return CheckResult(ids.USERNS_DEBIAN_CLONE, PASS, title, detail)


@produces(ids.USERNS_APPARMOR)
def check_apparmor(ctx: Context) -> CheckResult:
    name, title = "kernel.apparmor_restrict_unprivileged_userns", "AppArmor user-namespace restriction"
    value, problem = read_sysctl(ctx.view, name)
    if problem and "does not exist" in problem:
        return CheckResult(ids.USERNS_APPARMOR, PASS, title,
                           "/proc/sys/kernel/apparmor_restrict_unprivileged_userns does not exist: no restriction")
    if problem:
        return CheckResult(ids.USERNS_APPARMOR, WARN, title, problem, fixes.sysctl({name: "0"}))
    detail = f"{name} = {value}"
    if value == 0:
        return CheckResult(ids.USERNS_APPARMOR, PASS, title, detail + ": not restricted")
    profiles = userns_profiles(ctx)
    covered: Dict[str, str] = {}
    uncovered: List[str] = []
    for program in USERNS_CALLERS:
        path = ctx.find(program)
        if path is None:
            continue
        real = _realpath(ctx, path)
        profile = next((f for pattern, f in profiles if fnmatch.fnmatchcase(real, pattern)), None)
        if profile:
            covered[real] = profile
        else:
            uncovered.append(real)
    have = ", ".join(f"{p} ({f})" for p, f in covered.items()) or "none"
    detail += f"; profiles with 'userns,' in {APPARMOR_DIR}: {have}"
    if uncovered:
        return CheckResult(ids.USERNS_APPARMOR, FAIL, title,
                           f"{detail}; {UNCOVERED}{', '.join(uncovered)}",
                           _profile_fix(uncovered), subjects=tuple(uncovered))
    return CheckResult(ids.USERNS_APPARMOR, PASS, title, detail)


def userns_profiles(ctx: Context) -> List[tuple]:
    """(path glob, profile file) for every profile in /etc/apparmor.d that grants `userns,`."""
    found = []
    for entry in ctx.view.listdir(APPARMOR_DIR):
        host_path = f"{APPARMOR_DIR}/{entry}"
        if not ctx.view.path(host_path).is_file():
            continue
        text = ctx.view.read(host_path) or ""
        if not re.search(r"^\s*userns\s*,", text, re.MULTILINE):
            continue
        for line in text.splitlines():
            match = _HEADER.match(line)
            if match:
                found += [(pattern, host_path) for pattern in _expand_braces(match.group(1) or match.group(2))]
    return found


def _expand_braces(pattern: str) -> List[str]:
    """AppArmor's {a,b} alternation as a list of fnmatch patterns."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    out: List[str] = []
    for choice in match.group(1).split(","):
        out += _expand_braces(pattern[:match.start()] + choice + pattern[match.end():])
    return out


def _realpath(ctx: Context, host_path: str) -> str:
    import os

    if ctx.view.live:
        return os.path.realpath(host_path)
    real = os.path.realpath(ctx.view.path(host_path))
    root = os.path.realpath(ctx.view.root)
    return "/" + os.path.relpath(real, root) if real.startswith(root + os.sep) else host_path


def _profile_fix(paths: List[str]) -> str:
    """The profiles host_setup writes (its content module: one copy), loaded with apparmor_parser."""
    commands = []
    for path in paths:
        target = f"{APPARMOR_DIR}/{fixes.apparmor_profile_name(path)}"
        text = fixes.apparmor_profile(path).replace("\\", "\\\\").replace("\n", "\\n")
        commands += [f"printf '%b' {fixes.quote(text)} > {target}", f"apparmor_parser -r {target}"]
    return fixes.as_root(commands, "Or lift the restriction for everyone: "
                         "kernel.apparmor_restrict_unprivileged_userns = 0 in " + fixes.SYSCTL_CONF)


CHECKS = [check_max, check_debian_clone, check_apparmor]
