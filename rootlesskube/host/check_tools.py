"""Podman (present, version, rootless, what it sees) and the driver's tools with their versions."""

from __future__ import annotations

from typing import List

from . import fixes, ids
from .context import Context, produces, version_tuple
from .model import FAIL, PASS, SKIP, WARN, CheckResult

# kind: controller detection needs Podman >= 4.0; minikube warns below 4.9
MIN_PODMAN = {"kind": "4.0.0", "minikube": "4.9.0", "usernetes": "4.0.0"}
# tool -> (the oldest release that works, why the older ones do not)
MIN_TOOL = {
    "podman-compose": ("1.0.6", "older releases cannot parse Usernetes' docker-compose.yaml ('missing networks: "
                                "default'), print their own lines on stdout (which corrupts `make kubeconfig`) and "
                                "lose the exit status of `exec`"),
}


def podman_facts(info: dict) -> str:
    host, store = info.get("host", {}), info.get("store", {})
    runtime = host.get("ociRuntime", {}) or {}
    return (f"version {info.get('version', {}).get('Version', '?')}, "
            f"rootless {str(host.get('security', {}).get('rootless')).lower()}, "
            f"cgroup {host.get('cgroupVersion', '?')} ({host.get('cgroupManager', '?')} manager, controllers: "
            f"{' '.join(host.get('cgroupControllers') or []) or 'none'}), "
            f"OCI runtime {runtime.get('name', '?')} ({runtime.get('path', '?')}), "
            f"network {host.get('networkBackend', '?')}"
            + (f" + {host['rootlessNetworkCmd']}" if host.get("rootlessNetworkCmd") else "")
            + f", storage {store.get('graphDriverName', '?')} at {store.get('graphRoot', '?')}")


@produces(ids.PODMAN, ids.PODMAN_ROOTLESS)
def check_podman(ctx: Context) -> List[CheckResult]:
    title, rootless_title = "Podman", "Podman runs rootless"
    path = ctx.find("podman")
    if path is None:
        return [CheckResult(ids.PODMAN, FAIL, title, "podman is not installed", fixes.install(ctx.distro, ["podman"])),
                CheckResult(ids.PODMAN_ROOTLESS, SKIP, rootless_title, "podman is not installed")]
    reason = ctx.user_reason()
    if reason:
        return [CheckResult(ids.PODMAN, SKIP, title, f"{path} is installed; `podman info`: {reason}"),
                CheckResult(ids.PODMAN_ROOTLESS, SKIP, rootless_title, reason)]
    probe = ctx.podman_info()
    if probe.error:
        return [CheckResult(ids.PODMAN, FAIL, title, f"{path}: {probe.error}",
                            "run `podman info` as the user and fix what it reports; `podman system migrate` "
                            "after changing /etc/subuid"),
                CheckResult(ids.PODMAN_ROOTLESS, SKIP, rootless_title, "`podman info` failed")]
    info = probe.value
    version = info.get("version", {}).get("Version", "0")
    detail = f"{path}: {podman_facts(info)}"
    minimum = MIN_PODMAN[ctx.driver]
    if version_tuple(version) < version_tuple(minimum):
        podman = CheckResult(ids.PODMAN, WARN, title, f"{detail}; {ctx.driver} wants Podman >= {minimum}",
                             fixes.install(ctx.distro, ["podman"], "(a newer release of your distribution ships a "
                                                                   "newer Podman)"))
    else:
        podman = CheckResult(ids.PODMAN, PASS, title, detail)
    if info.get("host", {}).get("security", {}).get("rootless") is True:
        rootless = CheckResult(ids.PODMAN_ROOTLESS, PASS, rootless_title, "podman info: host.security.rootless = true")
    else:
        rootless = CheckResult(ids.PODMAN_ROOTLESS, FAIL, rootless_title,
                               "podman info: host.security.rootless = false (Podman runs as root here)",
                               fixes.run_as_a_user(ctx.user.name))
    return [podman, rootless]


@produces(lambda ctx: [ids.TOOL_PREFIX + t for t in ctx.req.tools + ctx.req.recommended_tools])
def check_tools(ctx: Context) -> List[CheckResult]:
    results = []
    for tool in ctx.req.tools + ctx.req.recommended_tools:
        check_id, title = ids.TOOL_PREFIX + tool, f"{tool} for the {ctx.driver} driver"
        path = ctx.find(tool)
        if path is None:
            required = tool in ctx.req.tools
            fix = (f"as the user: rootlesskube tools install {tool}   (a pinned, checksummed release)\n"
                   f"or install it yourself: {fixes.DOWNLOADS[tool]}" if tool in fixes.DOWNLOADS
                   else fixes.user_install(tool) if tool in fixes.USER_INSTALLS
                   else fixes.install(ctx.distro, [tool]))
            results.append(CheckResult(check_id, FAIL if required else WARN, title,
                                       f"{tool} is not installed (looked on "
                                       f"{'PATH' if ctx.view.live else 'the usual bin directories'})", fix))
            continue
        if ctx.live_reason():
            results.append(CheckResult(check_id, SKIP, title, f"{path} is installed; its version: {ctx.live_reason()}"))
            continue
        probe = ctx.tool_version(tool)
        if probe.error:
            results.append(CheckResult(check_id, WARN, title, f"{path}: {probe.error}",
                                       fixes.user_install(tool) if tool in fixes.USER_INSTALLS else
                                       f"reinstall {tool}: {fixes.DOWNLOADS.get(tool, 'your package manager')}"))
        elif tool in MIN_TOOL and probe.value and version_tuple(probe.value) < version_tuple(MIN_TOOL[tool][0]):
            minimum, why = MIN_TOOL[tool]
            results.append(CheckResult(check_id, FAIL, title,
                                       f"{path}, version {probe.value}: {ctx.driver} needs {tool} >= {minimum}; "
                                       f"{why}", fixes.user_install(tool)))
        else:
            shown = f"version {probe.value}" if probe.value else "version not asked"
            results.append(CheckResult(check_id, PASS, title, f"{path}, {shown}"))
    return results


CHECKS = [check_podman, check_tools]
