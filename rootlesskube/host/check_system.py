"""OS, kernel and architecture; sysctls and limits that break rootless clusters; IPv6."""

from __future__ import annotations

import re

from . import fixes, ids
from .context import Context, produces, version_tuple
from .model import FAIL, PASS, SKIP, WARN, CheckResult
from .readers import architecture, kernel_release, read_sysctl, sysctl_path

INOTIFY = {"fs.inotify.max_user_watches": 524288, "fs.inotify.max_user_instances": 512}
KEYS = {"kernel.keys.maxkeys": 20000, "kernel.keys.maxbytes": 500000}
PORT_START_DEFAULT = 1024
NOFILE_MIN = 64000  # kind's node entrypoint warns below this
NPROC_MIN = 4096
OSRELEASE = "/proc/sys/kernel/osrelease"
KERNEL_RELEASE = re.compile(r"\d+\.\d+")  # "6.1.0-25-amd64"


@produces(ids.OS)
def check_os(ctx: Context) -> CheckResult:
    title = "Operating system, kernel and architecture"
    release = kernel_release(ctx.view)
    arch = architecture(ctx.view) or "unknown architecture"
    where = "/etc/os-release, " + ("uname" if ctx.view.live else "/proc/sys/kernel/{osrelease,arch}")
    if not ctx.view.exists("/etc/os-release"):
        return CheckResult(ids.OS, WARN, title, f"/etc/os-release does not exist; kernel {release}, {arch}",
                           "restore /etc/os-release (package base-files/*-release) so fixes match this system")
    if release is None:
        return CheckResult(ids.OS, WARN, title, f"{ctx.distro.name}; {OSRELEASE} does not exist",
                           "mount /proc in the host root, or run doctor on the running host")
    detail = f"{ctx.distro.name}, kernel {release}, {arch} (read from {where})"
    if not KERNEL_RELEASE.match(release):
        return CheckResult(ids.OS, WARN, title,
                           f"{ctx.distro.name}, {arch}: the kernel release {release!r} ({OSRELEASE}) is not a "
                           "version, so the kernel the driver needs cannot be checked",
                           f"make {OSRELEASE} hold the kernel's release (a host root: mount its /proc), "
                           "then run `rootlesskube doctor` again")
    kernel = version_tuple(release)
    if kernel < ctx.req.min_kernel:
        minimum = ".".join(map(str, ctx.req.min_kernel))
        return CheckResult(ids.OS, FAIL, title, f"{detail}: {ctx.driver} needs kernel >= {minimum} for rootless mode",
                           fixes.as_root([f"upgrade to a kernel >= {minimum} (a newer release of {ctx.distro.name})"],
                                         fixes.REBOOT, host_setup=False))
    if kernel < ctx.req.kernel_for_overlay:
        return CheckResult(ids.OS, WARN, title,
                           f"{detail}: rootless native overlayfs needs kernel >= 5.11; Podman falls back to "
                           "fuse-overlayfs (slower)",
                           fixes.install(ctx.distro, ["fuse-overlayfs"], "or upgrade the kernel to 5.11 or newer"))
    return CheckResult(ids.OS, PASS, title, detail)


@produces(ids.SYSCTL_PORT_START)
def check_port_start(ctx: Context) -> CheckResult:
    name = "net.ipv4.ip_unprivileged_port_start"
    title = "Unprivileged port start"
    value, problem = read_sysctl(ctx.view, name)
    if problem:
        return CheckResult(ids.SYSCTL_PORT_START, WARN, title, problem,
                           "mount /proc (or run on the running host) so the sysctl can be read")
    detail = f"{name} = {value} ({sysctl_path(name)}): host ports below {value} cannot be published rootless"
    if value > PORT_START_DEFAULT:
        return CheckResult(ids.SYSCTL_PORT_START, WARN, title, detail,
                           fixes.sysctl({name: str(PORT_START_DEFAULT)}, "or publish only ports >= "
                                        f"{value}"))
    return CheckResult(ids.SYSCTL_PORT_START, PASS, title, detail)


def _minimums(ctx: Context, check_id: str, title: str, minimums: dict, why: str) -> CheckResult:
    found, low, problems = [], {}, []
    for name, minimum in minimums.items():
        value, problem = read_sysctl(ctx.view, name)
        if problem:
            problems.append(problem)
            continue
        found.append(f"{name} = {value}")
        if value < minimum:
            low[name] = str(minimum)
    detail = "; ".join(found + problems)
    if low:
        return CheckResult(check_id, WARN, title, f"{detail}: below {', '.join(f'{k} >= {v}' for k, v in low.items())} "
                           f"({why})", fixes.sysctl(low))
    if problems:
        return CheckResult(check_id, WARN, title, detail, "mount /proc (or run on the running host) to read them")
    return CheckResult(check_id, PASS, title, detail)


@produces(ids.SYSCTL_INOTIFY)
def check_inotify(ctx: Context) -> CheckResult:
    return _minimums(ctx, ids.SYSCTL_INOTIFY, "inotify limits", INOTIFY,
                     "every node process is charged to your uid; low limits give 'too many open files'")


@produces(ids.SYSCTL_KEYS)
def check_keys(ctx: Context) -> CheckResult:
    return _minimums(ctx, ids.SYSCTL_KEYS, "Kernel keyring quota", KEYS,
                     "each container creates a keyring charged to your uid: 'disk quota exceeded'")


@produces(ids.IPV6)
def check_ipv6(ctx: Context) -> CheckResult:
    title = "IPv6 enabled"
    if not ctx.view.exists("/proc/sys/net"):
        return CheckResult(ids.IPV6, WARN, title, "/proc/sys/net does not exist: cannot tell",
                           "mount /proc (or run on the running host)")
    if not ctx.view.exists("/proc/sys/net/ipv6"):
        return CheckResult(ids.IPV6, FAIL, title,
                           "/proc/sys/net/ipv6 does not exist: IPv6 is disabled at boot (ipv6.disable=1); "
                           "kind nodes fail with 'open /proc/sys/net/ipv6/conf/eth0/accept_dad'",
                           fixes.as_root(["remove ipv6.disable=1 from the kernel command line (in /etc/default/grub)"],
                                         fixes.REBOOT + " To keep IPv6 off, use the sysctl "
                                         "net.ipv6.conf.all.disable_ipv6 = 1 instead.", host_setup=False))
    value, _ = read_sysctl(ctx.view, "net.ipv6.conf.all.disable_ipv6")
    if value == 1:
        return CheckResult(ids.IPV6, WARN, title, "net.ipv6.conf.all.disable_ipv6 = 1 (IPv6 off by sysctl): "
                           "kind falls back to an IPv4-only network",
                           fixes.sysctl({"net.ipv6.conf.all.disable_ipv6": "0"}))
    return CheckResult(ids.IPV6, PASS, title, "/proc/sys/net/ipv6 exists" +
                       ("" if value is None else f"; net.ipv6.conf.all.disable_ipv6 = {value}"))


def _limit(ctx: Context, check_id: str, title: str, resource_name: str, minimum: int, limits_item: str) -> CheckResult:
    reason = ctx.user_reason()
    if reason:
        return CheckResult(check_id, SKIP, title, reason)
    import resource

    soft, hard = resource.getrlimit(getattr(resource, resource_name))
    shown = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
    detail = f"{resource_name} of this process: soft {soft if soft != resource.RLIM_INFINITY else 'unlimited'}, " \
             f"hard {shown}"
    if hard != resource.RLIM_INFINITY and hard < minimum:
        return CheckResult(check_id, WARN, title, f"{detail}: below {minimum}",
                           fixes.as_root([f"echo '{ctx.user.name} hard {limits_item} {minimum}' >> "
                                          f"/etc/security/limits.d/rootlesskube.conf"],
                                         "Then log in again (limits are set at login).", host_setup=False))
    return CheckResult(check_id, PASS, title, detail)


@produces(ids.LIMITS_NOFILE)
def check_nofile(ctx: Context) -> CheckResult:
    return _limit(ctx, ids.LIMITS_NOFILE, "Open-file limit", "RLIMIT_NOFILE", NOFILE_MIN, "nofile")


@produces(ids.LIMITS_NPROC)
def check_nproc(ctx: Context) -> CheckResult:
    return _limit(ctx, ids.LIMITS_NPROC, "Process limit", "RLIMIT_NPROC", NPROC_MIN, "nproc")


CHECKS = [check_os, check_port_start, check_inotify, check_keys, check_ipv6, check_nofile, check_nproc]
