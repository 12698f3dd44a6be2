"""/dev/net/tun and /dev/fuse usable by the user; a rootless network helper (slirp4netns or pasta)."""

from __future__ import annotations

import stat

from . import fixes, ids
from .context import Context, produces
from .model import FAIL, PASS, WARN, CheckResult


def _usable(ctx: Context, info) -> bool:
    """Read and write permission for the user by the mode bits (root's access() says yes to anything)."""
    mode = info.st_mode
    if info.st_uid == ctx.user.uid:
        return bool(mode & stat.S_IRUSR and mode & stat.S_IWUSR)
    if info.st_gid in ctx.user.groups:
        return bool(mode & stat.S_IRGRP and mode & stat.S_IWGRP)
    return bool(mode & stat.S_IROTH and mode & stat.S_IWOTH)


def _check_device(ctx: Context, check_id: str, device: str, module: str, needed_for: str,
                  required: bool) -> CheckResult:
    title = f"{device} usable by {ctx.user.name}"
    bad = FAIL if required else WARN
    info = ctx.view.stat(device)
    if info is None:
        return CheckResult(check_id, bad, title, f"{device} does not exist ({needed_for})",
                           fixes.device_mode(device, module))
    kind = "character device" if stat.S_ISCHR(info.st_mode) else "file"
    if ctx.view.live and kind != "character device":
        return CheckResult(check_id, bad, title, f"{device} is not a character device ({needed_for})",
                           fixes.device_mode(device, module))
    detail = f"{device}: {kind} {stat.filemode(info.st_mode)} owner uid {info.st_uid} gid {info.st_gid}"
    if not _usable(ctx, info):
        return CheckResult(check_id, bad, title, f"{detail}: {ctx.user.name} cannot read and write it ({needed_for})",
                           fixes.device_mode(device, module))
    return CheckResult(check_id, PASS, title, detail)


@produces(ids.DEV_TUN)
def check_tun(ctx: Context) -> CheckResult:
    return _check_device(ctx, ids.DEV_TUN, "/dev/net/tun", "tun", "slirp4netns and pasta need it", True)


@produces(ids.DEV_FUSE)
def check_fuse(ctx: Context) -> CheckResult:
    why = "kind passes --device /dev/fuse to rootless Podman" if ctx.req.needs_fuse \
        else "fuse-overlayfs needs it where native overlayfs is unavailable"
    return _check_device(ctx, ids.DEV_FUSE, "/dev/fuse", "fuse", why, ctx.req.needs_fuse)


@produces(ids.NETWORK_HELPER)
def check_network_helper(ctx: Context) -> CheckResult:
    title = "Rootless network helper (slirp4netns or pasta)"
    found = {name: ctx.find(name) for name in ("slirp4netns", "pasta")}
    have = ", ".join(f"{n} at {p}" for n, p in found.items() if p) or "neither"
    if ctx.req.needs_slirp4netns and not found["slirp4netns"]:
        return CheckResult(ids.NETWORK_HELPER, FAIL, title,
                           f"{have}: Usernetes needs slirp4netns (flannel breaks with pasta)",
                           fixes.install(ctx.distro, ["slirp4netns"],
                                         "Then, as the user: printf '[network]\\ndefault_rootless_network_cmd="
                                         "\"slirp4netns\"\\n' > "
                                         "~/.config/containers/containers.conf.d/slirp4netns.conf"))
    if not any(found.values()):
        return CheckResult(ids.NETWORK_HELPER, FAIL, title, f"{have} is installed: rootless Podman has no network",
                           fixes.install(ctx.distro, ["pasta", "slirp4netns"]))
    return CheckResult(ids.NETWORK_HELPER, PASS, title, have)


CHECKS = [check_tun, check_fuse, check_network_helper]
