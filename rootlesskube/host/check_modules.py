"""Kernel modules each driver needs: loaded, built in, or the feature present (a userns cannot modprobe)."""

from __future__ import annotations

from typing import Dict, List, Optional, Set

from . import fixes, ids
from .context import Context, produces
from .model import FAIL, PASS, WARN, CheckResult
from .readers import kernel_release
from .view import HostView


def _words(view: HostView, host_path: str) -> Set[str]:
    return {line.split()[-1] for line in (view.read(host_path) or "").splitlines() if line.split()}


def _first_fields(view: HostView, host_path: str) -> Set[str]:
    return {line.split()[0] for line in (view.read(host_path) or "").splitlines() if line.split()}


# module -> (host path, predicate over the view): the feature itself, when the module is invisible
FEATURES: Dict[str, tuple] = {
    "ip_tables": ("/proc/net/ip_tables_names", lambda v: v.exists("/proc/net/ip_tables_names")),
    "ip6_tables": ("/proc/net/ip6_tables_names", lambda v: v.exists("/proc/net/ip6_tables_names")),
    "iptable_nat": ("/proc/net/ip_tables_names", lambda v: "nat" in _first_fields(v, "/proc/net/ip_tables_names")),
    "ip6table_nat": ("/proc/net/ip6_tables_names",
                     lambda v: "nat" in _first_fields(v, "/proc/net/ip6_tables_names")),
    "br_netfilter": ("/proc/sys/net/bridge/bridge-nf-call-iptables",
                     lambda v: v.exists("/proc/sys/net/bridge/bridge-nf-call-iptables")),
    "overlay": ("/proc/filesystems", lambda v: "overlay" in _words(v, "/proc/filesystems")),
    "fuse": ("/proc/filesystems", lambda v: "fuse" in _words(v, "/proc/filesystems")),
}


class ModuleFacts:
    """Read once: /proc/modules, modules.builtin for the running kernel, /sys/module."""

    def __init__(self, ctx: Context):
        view = ctx.view
        self.view = view
        self.release = kernel_release(view)
        self.tree = f"/lib/modules/{self.release}" if self.release else None
        self.loaded = _first_fields(view, "/proc/modules")
        self.proc_modules = view.exists("/proc/modules")
        self.builtin: Set[str] = set()
        self.has_builtin = bool(self.tree and view.exists(f"{self.tree}/modules.builtin"))
        if self.has_builtin:
            for line in (view.read(f"{self.tree}/modules.builtin") or "").splitlines():
                base = line.strip().rsplit("/", 1)[-1]
                if base.endswith(".ko"):
                    self.builtin.add(base[:-3].replace("-", "_"))

    def where(self, name: str) -> Optional[str]:
        """How the module was found, or None."""
        if name in self.loaded:
            return "loaded (/proc/modules)"
        if name in self.builtin:
            return f"built in ({self.tree}/modules.builtin)"
        if self.view.exists(f"/sys/module/{name}"):
            return f"present (/sys/module/{name})"
        feature = FEATURES.get(name)
        if feature and feature[1](self.view):
            return f"feature present ({feature[0]})"
        return None

    def looked_in(self) -> str:
        places = ["/proc/modules" if self.proc_modules else "/proc/modules (missing)"]
        if self.tree:
            places.append(f"{self.tree}/modules.builtin" if self.has_builtin
                          else f"{self.tree}/modules.builtin (missing)")
        places.append("/sys/module")
        return ", ".join(places)


@produces(lambda ctx: [ids.MODULE_PREFIX + m for m in ctx.req.modules + ctx.req.recommended_modules])
def checks(ctx: Context) -> List[CheckResult]:
    facts = ModuleFacts(ctx)
    results = []
    tree_note = ""
    if facts.tree and not ctx.view.exists(facts.tree):
        tree_note = (f"; {facts.tree} does not exist, so no module can be loaded (a kernel without "
                     "loadable modules, or one upgraded without a reboot)")
    for name in ctx.req.modules + ctx.req.recommended_modules:
        check_id = ids.MODULE_PREFIX + name
        title = f"Kernel module {name}"
        found = facts.where(name)
        if found:
            results.append(CheckResult(check_id, PASS, title, found))
            continue
        required = name in ctx.req.modules
        why = f"needed by {ctx.driver}" if required else f"recommended for {ctx.driver}"
        feature = FEATURES.get(name)
        detail = f"not found in {facts.looked_in()}" + (f", nor {feature[0]}" if feature else "") + \
                 f" ({why}){tree_note}"
        results.append(CheckResult(check_id, FAIL if required else WARN, title, detail, fixes.modules([name])))
    return results


CHECKS = [checks]
